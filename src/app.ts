import { createErrorInterceptor } from "./interceptors.js";
import type { Logger } from "./log.js";
import { createRoutes } from "./routes.js";
import { createServer, type Server } from "./server.js";
import { anonymousCaller } from "./service/caller.js";
import { createPageTokenCodec } from "./service/page-token.js";
import type { Database } from "./store/db.js";
import { createStore } from "./store/index.js";

export interface AppDeps {
  db: Database;
  logger: Logger;
  /** Signs page tokens: the same on every replica. */
  pageTokenSecret: Buffer;
  /** Largest message, in bytes. */
  maxMessageBytes: number;
}

/** The whole service wired together, as an unstarted server. */
export function createApp(deps: AppDeps): Server {
  const routes = createRoutes({
    store: createStore({ db: deps.db }),
    pageTokens: createPageTokenCodec({ secret: deps.pageTokenSecret }),
    callerOf: () => anonymousCaller,
  });
  return createServer({
    routes,
    interceptors: [createErrorInterceptor({ logger: deps.logger })],
    logger: deps.logger,
    maxMessageBytes: deps.maxMessageBytes,
  });
}
