import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  type CallLog,
  callStateKey,
  fastPathKey,
  newCallState,
  protocolOf,
  REQUEST_ID_HEADER,
} from "./call-context.js";
import { toConnectError } from "./errors.js";
import type { Logger } from "./log.js";

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
}: {
  logger: Logger;
  callLog: CallLog;
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
      });
      tag(connectError.metadata);
      finish(connectError.code);
      throw connectError;
    }
  };
}

/**
 * Gives every call a deadline and makes the database honour it. Calls that send none get
 * `defaultMs`; longer ones are cut to `maxMs` (servers may shorten a deadline, gRPC says).
 * The call's signal (its own deadline, its client going away, or ours) cancels the statements
 * it runs (`withSignal`), and the call answers DEADLINE_EXCEEDED or CANCELLED at that moment
 * instead of waiting for a handler still queued for a connection.
 */
export function createDeadlineInterceptor(deps: {
  defaultMs: number;
  maxMs: number;
  withSignal: <T>(signal: AbortSignal, work: () => Promise<T>) => Promise<T>;
}): Interceptor {
  return (next) => (req) => {
    const given = req.header.has("grpc-timeout") || req.header.has("connect-timeout-ms");
    const limitMs = given ? deps.maxMs : deps.defaultMs;
    const controller = new AbortController();
    const timer = setTimeout(
      () =>
        controller.abort(
          new ConnectError(
            `the call took longer than ${limitMs} ms, the server's ${given ? "longest" : "default"} deadline`,
            Code.DeadlineExceeded,
          ),
        ),
      limitMs,
    );
    const forward = () => controller.abort(req.signal.reason);
    if (req.signal.aborted) forward();
    else req.signal.addEventListener("abort", forward, { once: true });
    const { signal } = controller;
    return new Promise((resolve, reject) => {
      const ended = () =>
        reject(
          signal.reason instanceof ConnectError
            ? signal.reason
            : new ConnectError("the call was cancelled", Code.Canceled),
        );
      signal.addEventListener("abort", ended, { once: true });
      deps
        .withSignal(signal, () => next(req))
        .then(resolve, reject)
        .finally(() => {
          clearTimeout(timer);
          req.signal.removeEventListener("abort", forward);
          signal.removeEventListener("abort", ended);
        });
    });
  };
}
