import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { CustomerInventoryService } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  PreconditionFailureSchema,
} from "../../gen/google/rpc/error_details_pb.js";

export type Role = "viewer" | "editor" | "admin";

const TOKEN_KEY = "customer-inventory.token";

/** The bearer token the operator entered, kept for this browser tab only. */
export const token = {
  get: (): string => sessionStorage.getItem(TOKEN_KEY) ?? "",
  set(value: string) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

/**
 * The role a token claims, read without verifying it: only to hide what the server would
 * refuse anyway. Undefined without a token (authentication may be off: everything is shown).
 */
export function roleOf(jwt: string): Role | "unknown" | undefined {
  if (!jwt) return undefined;
  try {
    const payload = jwt.split(".")[1] ?? "";
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const role = (JSON.parse(json) as { role?: unknown }).role;
    return role === "viewer" || role === "editor" || role === "admin" ? role : "unknown";
  } catch {
    return "unknown";
  }
}

const withToken: Interceptor = (next) => (req) => {
  const jwt = token.get();
  if (jwt) req.header.set("authorization", `Bearer ${jwt}`);
  return next(req);
};

export const CONSISTENCY_TOKEN_HEADER = "x-consistency-token";
/** The newest consistency token this page has been answered with ("" before its first write). */
let newestToken = "";
/** A token's WAL position, to tell the newer of two; -1 for one that names none. */
const positionOf = (token: string) => {
  const hex = /^c1\.([0-9a-f]{1,16})$/.exec(token)?.[1];
  return hex === undefined ? -1n : BigInt(`0x${hex}`);
};

/**
 * Read your writes: every call sends the newest token a write answered with, so that a read
 * served by a standby still shows what this operator just changed (docs/api.md, "Read
 * replicas and consistency").
 */
const readYourWrites: Interceptor = (next) => async (req) => {
  if (newestToken) req.header.set(CONSISTENCY_TOKEN_HEADER, newestToken);
  const res = await next(req);
  const answered = res.header.get(CONSISTENCY_TOKEN_HEADER);
  if (answered && positionOf(answered) >= positionOf(newestToken)) newestToken = answered;
  return res;
};

export const api = createClient(
  CustomerInventoryService,
  createConnectTransport({
    baseUrl: location.origin,
    interceptors: [withToken, readYourWrites],
    // Reads go as Connect GET requests (the RPCs are NO_SIDE_EFFECTS).
    useHttpGet: true,
  }),
);

/** What the page shows of a failed call. */
export interface Problem {
  code: Code;
  reason: string;
  message: string;
  /** Bad fields by their request path (`customer.name`, `filter`). */
  fields: Record<string, string>;
  /** Service instances that block a delete. */
  blockers: { id: string; description: string }[];
}

export function problemOf(err: unknown): Problem {
  const e = ConnectError.from(err);
  const info = e.findDetails(ErrorInfoSchema)[0];
  const fields: Record<string, string> = {};
  for (const bad of e.findDetails(BadRequestSchema)) {
    for (const v of bad.fieldViolations) fields[v.field] = v.description;
  }
  const blockers = e
    .findDetails(PreconditionFailureSchema)
    .flatMap((p) => p.violations)
    .filter((v) => v.type === "SERVICE_INSTANCE")
    .map((v) => ({ id: v.subject, description: v.description }));
  return { code: e.code, reason: info?.reason ?? "", message: e.rawMessage, fields, blockers };
}

/** A sentence for an operator, for errors that are not about one field. */
export function describeProblem(p: Problem): string {
  switch (p.code) {
    case Code.Unauthenticated:
      return "This server needs a valid access token: enter one under “Access token”.";
    case Code.PermissionDenied:
      return "Your role does not allow this.";
    case Code.Unavailable:
      return "The service is unavailable right now. Try again in a moment.";
    case Code.DeadlineExceeded:
      return "The service took too long to answer. Try again.";
    case Code.Aborted:
      return "Someone else changed this customer since you opened it. Close and open it again.";
    default:
      return p.message.charAt(0).toUpperCase() + p.message.slice(1);
  }
}

/** The 1-based position a filter error names ("… at 12 …"), if any. */
export function positionIn(description: string): number | undefined {
  const match = / at (\d+)\b/.exec(description);
  return match ? Number(match[1]) : undefined;
}
