import { randomUUID } from "node:crypto";
import { Code, createContextKey } from "@connectrpc/connect";
import type { Logger } from "./log.js";
import type { CallRecord } from "./metrics.js";

export const REQUEST_ID_HEADER = "x-request-id";

/** What the server knows of a call before Connect reads it, shared with the interceptors. */
export interface CallState {
  /** The caller's `x-request-id` if sensible, else a new UUID. */
  readonly requestId: string;
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number;
  /** The caller's address. */
  readonly peer: string;
  /** Set once the call's log line is written, so that it is written once. */
  logged: boolean;
}

/** Set by the server on each request it hands to Connect. */
export const callStateKey = createContextKey<CallState | undefined>(undefined, {
  description: "the call's request id, start and peer",
});

/** Set on the calls the fast path serves (the call log says so). */
export const fastPathKey = createContextKey(false, { description: "served by the gRPC fast path" });

const acceptableRequestId = /^[\x21-\x7e]{1,128}$/;

/** The call's request id: the caller's, if it is 1–128 printable ASCII characters. */
export function requestIdFrom(given: string | null | undefined): string {
  return given && acceptableRequestId.test(given) ? given : randomUUID();
}

export function newCallState(given: string | null | undefined, peer: string): CallState {
  return { requestId: requestIdFrom(given), startedAt: performance.now(), peer, logged: false };
}

/** The protocol of a call, read off its content type. */
export function protocolOf(contentType: string | null | undefined): string {
  if (!contentType) return "connect-get";
  if (contentType.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** The code as Connect spells it, e.g. `invalid_argument`. */
export const codeName = (code: Code) =>
  (Code[code] ?? "unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();

export interface CallLogEntry {
  call: CallState;
  /** `package.Service/Method`. */
  procedure: string;
  protocol: string;
  code: Code | "ok";
  fastPath?: boolean;
}

/** Writes the one log line of a call (and counts it), once, whoever finishes the call. */
export type CallLog = (entry: CallLogEntry) => void;

export function createCallLog(deps: {
  logger: Logger;
  /** Told of every finished call, e.g. to count it. */
  onCall?: (call: CallRecord) => void;
}): CallLog {
  return ({ call, procedure, protocol, code, fastPath }) => {
    if (call.logged) return;
    call.logged = true;
    const record = {
      procedure,
      protocol,
      code: code === "ok" ? "ok" : codeName(code),
      durationMs: Math.round((performance.now() - call.startedAt) * 1000) / 1000,
    };
    deps.logger.info(
      { ...record, requestId: call.requestId, peer: call.peer, fastPath: fastPath || undefined },
      "call",
    );
    deps.onCall?.(record);
  };
}

/** An error message that carries the request id, as INTERNAL and UNAVAILABLE ones must. */
export const withRequestId = (message: string, requestId: string) =>
  message.includes(`(request id ${requestId})`) ? message : `${message} (request id ${requestId})`;
