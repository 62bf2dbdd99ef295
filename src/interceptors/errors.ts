import type { Code, Interceptor } from "@connectrpc/connect";
import type { DomainError } from "../errors.js";
import type { CallLog } from "../observability/call-log.js";
import type { Logger } from "../observability/log.js";
import {
  callStateKey,
  fastPathKey,
  newCallState,
  protocolOf,
  REQUEST_ID_HEADER,
} from "./context.js";
import { toConnectError } from "./error-mapping.js";

/**
 * Maps whatever a handler throws through the one error model (nothing internal reaches the
 * client, unexpected errors are logged with the request id), returns the call's request id
 * in a response header, and writes the call's log line. The request id and start come from
 * the server (callStateKey), which also answers, with the same id, the calls Connect
 * refuses before any interceptor runs.
 */
export function createErrorInterceptor({
  logger,
  callLog,
  classify,
}: {
  logger: Logger;
  callLog: CallLog;
  /** What an error from below the handlers (the database driver) means, if anything. */
  classify: (err: unknown) => DomainError | undefined;
}): Interceptor {
  return (next) => async (req) => {
    const fromServer = req.contextValues.get(callStateKey);
    const call = fromServer ?? newCallState(req.header.get(REQUEST_ID_HEADER), "");
    // The server has put the id in the response headers already; sent again in the
    // trailers, clients would read it twice.
    const tag = (headers: Headers) => {
      if (!fromServer) headers.set(REQUEST_ID_HEADER, call.requestId);
    };
    const finish = (code: Code | "ok") =>
      callLog({
        call,
        procedure: `${req.service.typeName}/${req.method.name}`,
        protocol: protocolOf(req.header.get("content-type")),
        code,
        fastPath: req.contextValues.get(fastPathKey),
      });
    try {
      const res = await next(req);
      tag(res.header);
      finish("ok");
      return res;
    } catch (err) {
      const connectError = toConnectError(err, {
        requestId: call.requestId,
        procedure: req.method.name,
        logger,
        classify,
      });
      tag(connectError.metadata);
      finish(connectError.code);
      throw connectError;
    }
  };
}
