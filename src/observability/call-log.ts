import { Code } from "@connectrpc/connect";
import type { Logger } from "./log.js";
import type { CallRecord } from "./metrics.js";

/** What the server knows of a call before Connect reads it, shared with the interceptors and the call log. */
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
