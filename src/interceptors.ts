import { randomUUID } from "node:crypto";
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { fastPathKey } from "./adapter.js";
import { toConnectError } from "./errors.js";
import type { Logger } from "./log.js";
import type { CallRecord } from "./metrics.js";

const REQUEST_ID_HEADER = "x-request-id";

/** The caller's address, set by the server for each request. */
export const peerKey = createContextKey<string>("", { description: "peer address" });

/** The protocol of a call, read off its content type. */
function protocolOf(contentType: string | null): string {
  if (!contentType) return "connect-get";
  if (contentType.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType.startsWith("application/grpc")) return "grpc";
  return "connect";
}
const acceptableRequestId = /^[\x21-\x7e]{1,128}$/;

/**
 * Gives every call a request id (the caller's `x-request-id` if sensible, else a new UUID),
 * returns it in a response header, maps whatever a handler throws through the one error
 * model (nothing internal reaches the client, unexpected errors are logged with the id), and
 * logs one line per call: procedure, protocol, code, duration, request id and peer.
 */
export function createErrorInterceptor({
  logger,
  onCall,
}: {
  logger: Logger;
  /** Told of every finished call, e.g. to count it. */
  onCall?: (call: CallRecord) => void;
}): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const given = req.header.get(REQUEST_ID_HEADER);
    const requestId = given && acceptableRequestId.test(given) ? given : randomUUID();
    const logCall = (code: string) => {
      const call = {
        procedure: `${req.service.typeName}/${req.method.name}`,
        protocol: protocolOf(req.header.get("content-type")),
        code,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      };
      const fastPath = req.contextValues.get(fastPathKey) || undefined;
      logger.info({ ...call, requestId, peer: req.contextValues.get(peerKey), fastPath }, "call");
      onCall?.(call);
    };
    try {
      const res = await next(req);
      res.header.set(REQUEST_ID_HEADER, requestId);
      logCall("ok");
      return res;
    } catch (err) {
      const connectError = toConnectError(err, {
        requestId,
        procedure: req.method.name,
        logger,
      });
      connectError.metadata.set(REQUEST_ID_HEADER, requestId);
      logCall(codeName(connectError));
      throw connectError;
    }
  };
}

/** The code as Connect spells it, e.g. `invalid_argument`. */
const codeName = (err: ConnectError) =>
  (Code[err.code] ?? "unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();

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
