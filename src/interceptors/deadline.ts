import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { DomainError } from "../errors.js";

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
  /**
   * Aborts, with an UNAVAILABLE DomainError, when the primary is found unreachable: the call
   * ends then instead of waiting out its deadline for a database that is not there.
   */
  outageSignal?: () => AbortSignal;
}): Interceptor {
  return (next) => (req) => {
    // A stream lives until its client's own deadline (Connect ends it there), its client
    // going away, or shutdown; its handler passes the call's signal to what it runs.
    if (req.method.methodKind !== "unary") return next(req);
    const given = req.header.has("grpc-timeout") || req.header.has("connect-timeout-ms");
    const limitMs = given ? deps.maxMs : deps.defaultMs;
    const controller = new AbortController();
    const timer = setTimeout(
      () =>
        controller.abort(
          new DomainError(
            "deadline_exceeded",
            "DEADLINE_EXCEEDED",
            `the call took longer than ${limitMs} ms, the server's ${given ? "longest" : "default"} deadline`,
          ),
        ),
      limitMs,
    );
    const forward = () => controller.abort(req.signal.reason);
    if (req.signal.aborted) forward();
    else req.signal.addEventListener("abort", forward, { once: true });
    const outage = deps.outageSignal?.();
    const lost = () => controller.abort(outage?.reason);
    outage?.addEventListener("abort", lost, { once: true });
    const { signal } = controller;
    return new Promise((resolve, reject) => {
      // Our deadline, or the call's own signal: its deadline (Connect's ConnectError) or
      // its client going away.
      const ended = () =>
        reject(
          signal.reason instanceof DomainError || signal.reason instanceof ConnectError
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
          outage?.removeEventListener("abort", lost);
          signal.removeEventListener("abort", ended);
        });
    });
  };
}
