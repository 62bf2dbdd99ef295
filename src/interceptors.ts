import { randomUUID } from "node:crypto";
import type { Interceptor } from "@connectrpc/connect";
import { toConnectError } from "./errors.js";
import type { Logger } from "./log.js";

const REQUEST_ID_HEADER = "x-request-id";
const acceptableRequestId = /^[\x21-\x7e]{1,128}$/;

/**
 * Gives every call a request id (the caller's `x-request-id` if sensible, else a new UUID),
 * returns it in a response header, and maps whatever a handler throws through the one
 * error model: nothing internal reaches the client, unexpected errors are logged with the id.
 */
export function createErrorInterceptor({ logger }: { logger: Logger }): Interceptor {
  return (next) => async (req) => {
    const given = req.header.get(REQUEST_ID_HEADER);
    const requestId = given && acceptableRequestId.test(given) ? given : randomUUID();
    try {
      const res = await next(req);
      res.header.set(REQUEST_ID_HEADER, requestId);
      return res;
    } catch (err) {
      const connectError = toConnectError(err, {
        requestId,
        procedure: req.method.name,
        logger,
      });
      connectError.metadata.set(REQUEST_ID_HEADER, requestId);
      throw connectError;
    }
  };
}
