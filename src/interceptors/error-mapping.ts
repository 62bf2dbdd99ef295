import { Code, ConnectError } from "@connectrpc/connect";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  PreconditionFailureSchema,
  ResourceInfoSchema,
} from "../../gen/google/rpc/error_details_pb.js";
import { DomainError, domainErrorOf, ERROR_DOMAIN, type ErrorKind } from "../errors.js";
import type { Logger } from "../observability/log.js";

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
  out_of_range: Code.OutOfRange,
  resource_exhausted: Code.ResourceExhausted,
};

export interface ToConnectErrorOptions {
  requestId: string;
  procedure: string;
  logger: Logger;
  /** What an error from below (the database driver) means, if anything. */
  classify: (err: unknown) => DomainError | undefined;
}

/**
 * The one mapping from anything a handler throws to what a client sees. Domain errors keep
 * their code and details; database outages become UNAVAILABLE; everything else becomes
 * INTERNAL with the request id, and is logged in full here (never sent).
 */
export function toConnectError(err: unknown, options: ToConnectErrorOptions): ConnectError {
  if (err instanceof ConnectError) return err;
  const domainError = domainErrorOf(err) ?? options.classify(err);
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
