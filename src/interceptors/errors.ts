import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
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
    const mapped = (err: unknown) => {
      const connectError = toConnectError(err, {
        requestId: call.requestId,
        procedure: req.method.name,
        logger,
        classify,
      });
      tag(connectError.metadata);
      finish(connectError.code);
      return connectError;
    };
    try {
      const res = await next(req);
      tag(res.header);
      if (!res.stream) {
        finish("ok");
        return res;
      }
      // A streaming response is a stream of messages: its errors are thrown while it is
      // read, after this returns, and its log line is written when it ends.
      return { ...res, message: endedBy(res.message, () => finish("ok"), mapped) };
    } catch (err) {
      throw mapped(err);
    }
  };
}

/** The messages of `stream`, with `ok` called when it ends and its errors mapped by `failed`. */
async function* endedBy<T>(
  stream: AsyncIterable<T>,
  ok: () => void,
  failed: (err: unknown) => Error,
): AsyncGenerator<T> {
  let ended = false;
  try {
    yield* stream;
    ended = true;
    ok();
  } catch (err) {
    ended = true;
    throw failed(err);
  } finally {
    // The client went away: the stream stops being read without ending.
    if (!ended) failed(new ConnectError("the client cancelled the call", Code.Canceled));
  }
}
