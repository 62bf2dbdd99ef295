import { DomainError } from "../errors.js";

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

/**
 * What a PostgreSQL or driver error means to a caller, as a domain error: the database
 * cannot be reached (UNAVAILABLE), a server-side time limit (DEADLINE_EXCEEDED), a
 * serialization failure or deadlock (ABORTED). Undefined for anything else.
 */
export function classifyDriverError(err: unknown): DomainError | undefined {
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

/** Unique and foreign key violations, by constraint name. */
export function violatedConstraint(
  err: unknown,
): { kind: "unique" | "foreign_key"; constraint: string } | undefined {
  const driverError = driverErrorOf(err);
  if (!driverError?.constraint_name) return undefined;
  if (driverError.code === "23505")
    return { kind: "unique", constraint: driverError.constraint_name };
  if (driverError.code === "23503")
    return { kind: "foreign_key", constraint: driverError.constraint_name };
  return undefined;
}
