import { type Code, ConnectError } from "@connectrpc/connect";
import {
  BadRequestSchema,
  type ErrorInfo,
  ErrorInfoSchema,
  PreconditionFailureSchema,
} from "../../gen/google/rpc/error_details_pb.js";

/** What a client can read off a failed call: code, message and the google.rpc details. */
export interface CallError {
  code: Code;
  message: string;
  errorInfos: ErrorInfo[];
  reason: string | undefined;
  metadata: Record<string, string>;
  fieldViolations: { field: string; description: string }[];
  preconditionViolations: { type: string; subject: string; description: string }[];
  requestId: string | null;
}

/** The error `call` ends with, as a client reads it; undefined when it succeeds. */
export async function errorOf(call: () => Promise<unknown>): Promise<ConnectError | undefined> {
  try {
    await call();
    return undefined;
  } catch (err) {
    return ConnectError.from(err);
  }
}

/** The code a call ends with: 0 when it succeeds. */
export async function codeOf(call: () => Promise<unknown>): Promise<Code | 0> {
  return (await errorOf(call))?.code ?? 0;
}

/** Runs `call`, which must fail, and returns what the client sees of the error. */
export async function callError(call: () => Promise<unknown>): Promise<CallError> {
  const err = await errorOf(call);
  if (!err) throw new Error("expected the call to fail, but it succeeded");
  const infos = err.findDetails(ErrorInfoSchema);
  const badRequest = err.findDetails(BadRequestSchema)[0];
  const precondition = err.findDetails(PreconditionFailureSchema)[0];
  return {
    code: err.code,
    message: err.rawMessage,
    errorInfos: infos,
    reason: infos[0]?.reason,
    metadata: { ...(infos[0]?.metadata ?? {}) },
    fieldViolations: (badRequest?.fieldViolations ?? []).map((v) => ({
      field: v.field,
      description: v.description,
    })),
    preconditionViolations: (precondition?.violations ?? []).map((v) => ({
      type: v.type,
      subject: v.subject,
      description: v.description,
    })),
    requestId: err.metadata.get("x-request-id"),
  };
}
