import type { Interceptor } from "@connectrpc/connect";
import { DomainError } from "../errors.js";

/**
 * Until the database is ready (migrated), every call but health and reflection fails at once
 * with UNAVAILABLE (`STARTING`) instead of waiting for a database that is not there.
 */
export function createReadinessInterceptor(ready: () => boolean): Interceptor {
  return (next) => (req) => {
    if (!ready() && !req.service.typeName.startsWith("grpc.")) {
      throw new DomainError("unavailable", "STARTING", "the database is not ready yet");
    }
    return next(req);
  };
}
