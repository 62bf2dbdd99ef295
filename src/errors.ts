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
  | "deadline_exceeded"
  | "out_of_range"
  | "resource_exhausted";

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

/**
 * Violations one error carries at most: they travel in a trailer (grpc-status-details-bin),
 * and gRPC clients refuse large ones (grpc-java's default is 8 KiB of metadata). Past it,
 * ErrorInfo's `violation_count` says how many there were.
 */
export const MAX_LISTED_VIOLATIONS = 100;
/** Violations spelled out in the message. */
const MESSAGE_VIOLATIONS = 10;

export function invalidArgument(
  violations: FieldViolation[],
  reason = "INVALID_ARGUMENT",
): DomainError {
  const listed = violations.slice(0, MAX_LISTED_VIOLATIONS);
  const spelled = violations
    .slice(0, MESSAGE_VIOLATIONS)
    .map((v) => `${v.field}: ${v.description}`);
  const message =
    violations.length > MESSAGE_VIOLATIONS
      ? `${spelled.join("; ")}; … ${violations.length} problems in all`
      : spelled.join("; ");
  return new DomainError("invalid_argument", reason, message, {
    fieldViolations: listed,
    ...(violations.length > listed.length && {
      metadata: { violation_count: String(violations.length) },
    }),
  });
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

/** A watch cursor from before the retention: the changes after it may be gone. */
export function cursorExpired(): DomainError {
  return new DomainError(
    "out_of_range",
    "CURSOR_EXPIRED",
    "start_after: the cursor is older than the change retention; re-read with ListCustomers and watch from now",
    {
      fieldViolations: [
        { field: "start_after", description: "is older than the change retention" },
      ],
    },
  );
}

/** A watcher that fell further behind than the server buffers for it. */
export function watcherTooSlow(limit: number): DomainError {
  return new DomainError(
    "resource_exhausted",
    "WATCHER_TOO_SLOW",
    `the watcher fell more than ${limit} changes behind the feed; resume with the cursor of the last message received`,
    { metadata: { buffer_changes: String(limit) } },
  );
}

/** Watch streams end at shutdown; clients resume elsewhere with their cursor. */
export function shuttingDown(): DomainError {
  return new DomainError(
    "unavailable",
    "SHUTTING_DOWN",
    "the server is shutting down; resume with the cursor of the last message received",
  );
}

/** A DomainError, also one raised below drizzle, which wraps what its driver throws. */
export function domainErrorOf(err: unknown): DomainError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof DomainError) return current;
    current = current.cause;
  }
  return undefined;
}
