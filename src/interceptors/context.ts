import { randomUUID } from "node:crypto";
import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import { anonymousCaller, type Caller, type ChangeAuthor } from "../domain/types.js";
import type { CallState } from "../observability/call-log.js";

export const REQUEST_ID_HEADER = "x-request-id";

/** Set by the server on each request it hands to Connect. */
export const callStateKey = createContextKey<CallState | undefined>(undefined, {
  description: "the call's request id, start and peer",
});

/** Set by the authentication interceptor. */
export const callerKey = createContextKey<Caller>(anonymousCaller, { description: "the caller" });

/** Who is making the call: set by the authentication interceptor, anonymous without one. */
export const callerOf = (context: HandlerContext): Caller => context.values.get(callerKey);

/** Who is making the call's changes, for their change records: the subject and the request id. */
export const changeAuthorOf = (context: HandlerContext): ChangeAuthor => ({
  actor: callerOf(context).subject,
  requestId: context.values.get(callStateKey)?.requestId ?? "",
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

/** An error message that carries the request id, as INTERNAL and UNAVAILABLE ones must. */
export const withRequestId = (message: string, requestId: string) =>
  message.includes(`(request id ${requestId})`) ? message : `${message} (request id ${requestId})`;
