import { createHealth } from "./health.js";
import { createErrorInterceptor } from "./interceptors.js";
import type { Logger } from "./log.js";
import { createMetrics } from "./metrics.js";
import { createRoutes } from "./routes.js";
import { createServer, type Server } from "./server.js";
import { anonymousCaller } from "./service/caller.js";
import { createPageTokenCodec } from "./service/page-token.js";
import { type Database, type PoolUsage, pingDatabase } from "./store/db.js";
import { createStore } from "./store/index.js";

export interface AppDeps {
  db: Database;
  /** The pool's state, for /metrics. */
  poolUsage: () => PoolUsage;
  logger: Logger;
  /** Signs page tokens: the same on every replica. */
  pageTokenSecret: Buffer;
  /** Largest message, in bytes. */
  maxMessageBytes: number;
  /** How often health checking probes the database. Default 2 s. */
  healthProbeIntervalMs?: number;
  /** Origins browsers may call from; default none. */
  corsAllowedOrigins?: readonly string[];
  /** Unary gRPC calls on the fast path. Default true. */
  grpcFastPath?: boolean;
  /** Serve TLS (ALPN h2 and http/1.1) with this certificate chain and key. */
  tls?: { cert: Buffer; key: Buffer };
  /** HTTP/2 connections idle this long are closed. Default 5 minutes. */
  idleTimeoutMs?: number;
}

/** The whole service wired together, as an unstarted server. */
export function createApp(deps: AppDeps): Server {
  const health = createHealth({
    probe: () => pingDatabase(deps.db),
    intervalMs: deps.healthProbeIntervalMs ?? 2_000,
    timeoutMs: 1_000,
    logger: deps.logger,
  });
  const routes = createRoutes({
    store: createStore({ db: deps.db }),
    pageTokens: createPageTokenCodec({ secret: deps.pageTokenSecret }),
    callerOf: () => anonymousCaller,
    health,
  });
  const metrics = createMetrics({ poolUsage: deps.poolUsage });
  const server = createServer({
    routes,
    interceptors: [createErrorInterceptor({ logger: deps.logger, onCall: metrics.recordCall })],
    logger: deps.logger,
    maxMessageBytes: deps.maxMessageBytes,
    corsAllowedOrigins: deps.corsAllowedOrigins ?? [],
    grpcFastPath: deps.grpcFastPath,
    tls: deps.tls,
    idleTimeoutMs: deps.idleTimeoutMs,
    plainRoutes: { "/metrics": metrics.serve },
  });
  return {
    listen: (port, host) => server.listen(port, host),
    async close(graceMs) {
      // Health watchers hear NOT_SERVING before the connections get GOAWAY.
      health.markShuttingDown();
      health.stop();
      await server.close(graceMs);
    },
  };
}
