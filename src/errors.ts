import { Code, ConnectError } from "@connectrpc/connect";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  PreconditionFailureSchema,
  ResourceInfoSchema,
} from "../gen/google/rpc/error_details_pb.js";
import type { Logger } from "./log.js";

/** The ErrorInfo domain of every error this service raises. */
export const ERROR_DOMAIN = "customerinventory.v1";

export type ErrorKind =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "aborted"
  | "permission_denied"
  | "unauthenticated"
  | "unavailable"
  | "deadline_exceeded";

export interface FieldViolation {
  /** The request path of the bad field, e.g. `customer.name`. */
  field: string;
  description: string;
}

export interface PreconditionViolation {
  type: string;
  subject: string;
  description: string;
}

export interface DomainErrorDetails {
  metadata?: Record<string, string>;
  fieldViolations?: FieldViolation[];
  preconditionViolations?: PreconditionViolation[];
  resource?: { type: string; name: string };
}

/**
 * An error the service raises on purpose: a kind (mapped once to a Connect code), a
 * stable UPPER_SNAKE reason, a short lowercase message safe to show to any client.
 */
export class DomainError extends Error {
  override readonly name = "DomainError";
  constructor(
    readonly kind: ErrorKind,
    readonly reason: string,
    message: string,
    readonly details: DomainErrorDetails = {},
  ) {
    super(message);
  }
}

export function invalidArgument(
  violations: FieldViolation[],
  reason = "INVALID_ARGUMENT",
): DomainError {
  const message = violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  return new DomainError("invalid_argument", reason, message, { fieldViolations: violations });
}

export function invalidField(field: string, description: string, reason?: string): DomainError {
  return invalidArgument([{ field, description }], reason);
}

export type ResourceKind = "customer" | "service instance" | "saved filter";

const resourceTypes: Record<ResourceKind, { type: string; reason: string; key: string }> = {
  customer: {
    type: "customerinventory.v1.Customer",
    reason: "CUSTOMER_NOT_FOUND",
    key: "customer_id",
  },
  "service instance": {
    type: "customerinventory.v1.ServiceInstance",
    reason: "SERVICE_INSTANCE_NOT_FOUND",
    key: "service_instance_id",
  },
  "saved filter": {
    type: "customerinventory.v1.SavedFilter",
    reason: "SAVED_FILTER_NOT_FOUND",
    key: "saved_filter_id",
  },
};

export function notFound(kind: ResourceKind, id: string): DomainError {
  const r = resourceTypes[kind];
  return new DomainError("not_found", r.reason, `${kind} ${id} not found`, {
    metadata: { [r.key]: id },
    resource: { type: r.type, name: id },
  });
}

/** NOT_FOUND for a customer named by its name rather than its id. */
export function customerNameNotFound(name: string): DomainError {
  return new DomainError("not_found", "CUSTOMER_NOT_FOUND", `customer named "${name}" not found`, {
    metadata: { customer_name: name },
    resource: { type: resourceTypes.customer.type, name },
  });
}

export function alreadyExists(
  reason: string,
  message: string,
  metadata: Record<string, string>,
): DomainError {
  return new DomainError("already_exists", reason, message, { metadata });
}

export function etagMismatch(kind: ResourceKind, id: string, etag: string): DomainError {
  return new DomainError(
    "aborted",
    "ETAG_MISMATCH",
    `the ${kind} changed since etag ${etag} was read; read it again`,
    { metadata: { [resourceTypes[kind].key]: id, etag } },
  );
}

/** The number of blocking instances a delete refusal lists by id. */
export const MAX_LISTED_BLOCKERS = 20;

export function customerHasServiceInstances(
  customerId: string,
  count: number,
  blockingInstanceIds: string[],
): DomainError {
  return new DomainError(
    "failed_precondition",
    "CUSTOMER_HAS_SERVICE_INSTANCES",
    `customer ${customerId} has ${count} service instance${count === 1 ? "" : "s"}; delete them first`,
    {
      metadata: { customer_id: customerId, service_instance_count: String(count) },
      preconditionViolations: blockingInstanceIds.slice(0, MAX_LISTED_BLOCKERS).map((id) => ({
        type: "SERVICE_INSTANCE",
        subject: id,
        description: `service instance ${id} belongs to customer ${customerId}`,
      })),
    },
  );
}

const codes: Record<ErrorKind, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  aborted: Code.Aborted,
  permission_denied: Code.PermissionDenied,
  unauthenticated: Code.Unauthenticated,
  unavailable: Code.Unavailable,
  deadline_exceeded: Code.DeadlineExceeded,
};

/** SQLSTATE classes and driver error codes that mean the database cannot be reached. */
const unavailableDriverCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EPIPE",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "53300", // too_many_connections
]);

/** Walks the cause chain (drizzle wraps driver errors) for the first error with a `code`. */
export function driverErrorOf(
  err: unknown,
): { code: string; constraint_name?: string } | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") {
      return current as unknown as { code: string; constraint_name?: string };
    }
    current = current.cause;
  }
  return undefined;
}

/** A DomainError, also one raised below drizzle, which wraps what its driver throws. */
function domainErrorOf(err: unknown): DomainError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof DomainError) return current;
    current = current.cause;
  }
  return undefined;
}

function classifyDriverError(err: unknown): DomainError | undefined {
  const driverError = driverErrorOf(err);
  if (!driverError) return undefined;
  const { code } = driverError;
  if (unavailableDriverCodes.has(code) || code.startsWith("08")) {
    return new DomainError("unavailable", "DATABASE_UNAVAILABLE", "the database is unavailable");
  }
  // query_canceled (statement_timeout, or a cancel on the call's deadline), lock_not_available
  // (lock_timeout): the server-side caps on a call's time.
  if (code === "57014" || code === "55P03") {
    return new DomainError("deadline_exceeded", "DEADLINE_EXCEEDED", "the query took too long");
  }
  if (code === "40001" || code === "40P01") {
    return new DomainError("aborted", "CONCURRENT_MODIFICATION", "a concurrent change conflicted");
  }
  return undefined;
}

export interface ToConnectErrorOptions {
  requestId: string;
  procedure: string;
  logger: Logger;
}

/**
 * The one mapping from anything a handler throws to what a client sees. Domain errors keep
 * their code and details; database outages become UNAVAILABLE; everything else becomes
 * INTERNAL with the request id, and is logged in full here (never sent).
 */
export function toConnectError(err: unknown, options: ToConnectErrorOptions): ConnectError {
  if (err instanceof ConnectError) return err;
  const domainError = domainErrorOf(err) ?? classifyDriverError(err);
  if (domainError) {
    if (domainError.kind === "unavailable" || domainError.kind === "deadline_exceeded") {
      options.logger.warn(
        { err, requestId: options.requestId, procedure: options.procedure },
        domainError.message,
      );
      return fromDomainError(
        new DomainError(
          domainError.kind,
          domainError.reason,
          `${domainError.message} (request id ${options.requestId})`,
          {
            ...domainError.details,
            metadata: { ...domainError.details.metadata, request_id: options.requestId },
          },
        ),
      );
    }
    return fromDomainError(domainError);
  }
  options.logger.error(
    { err, requestId: options.requestId, procedure: options.procedure },
    "unexpected error",
  );
  return new ConnectError(`internal error (request id ${options.requestId})`, Code.Internal, {}, [
    {
      desc: ErrorInfoSchema,
      value: {
        reason: "INTERNAL",
        domain: ERROR_DOMAIN,
        metadata: { request_id: options.requestId },
      },
    },
  ]);
}

function fromDomainError(err: DomainError): ConnectError {
  const { details } = err;
  const outgoing: ConstructorParameters<typeof ConnectError>[3] = [
    {
      desc: ErrorInfoSchema,
      value: { reason: err.reason, domain: ERROR_DOMAIN, metadata: details.metadata ?? {} },
    },
  ];
  if (details.fieldViolations?.length) {
    outgoing.push({
      desc: BadRequestSchema,
      value: { fieldViolations: details.fieldViolations },
    });
  }
  if (details.preconditionViolations?.length) {
    outgoing.push({
      desc: PreconditionFailureSchema,
      value: { violations: details.preconditionViolations },
    });
  }
  if (details.resource) {
    outgoing.push({
      desc: ResourceInfoSchema,
      value: { resourceType: details.resource.type, resourceName: details.resource.name },
    });
  }
  return new ConnectError(err.message, codes[err.kind], {}, outgoing);
}
