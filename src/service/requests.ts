import { createHash } from "node:crypto";
import type { FieldViolation } from "../errors.js";
import { invalidArgument, invalidField } from "../errors.js";

/** page_size 0 (unset) means this. */
export const DEFAULT_PAGE_SIZE = 50;
/** page_size above this is coerced down to it. */
export const MAX_PAGE_SIZE = 1000;

/** The page size a request asks for, by the AIP-158 rules. */
export function cleanPageSize(
  pageSize: number,
  violations: FieldViolation[],
  field = "page_size",
): number {
  if (pageSize < 0) {
    violations.push({ field, description: "must not be negative" });
    return DEFAULT_PAGE_SIZE;
  }
  if (pageSize === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(pageSize, MAX_PAGE_SIZE);
}

const printableAscii = /^[\x20-\x7e]{1,64}$/;

/** A request_id (never trimmed): 1–64 printable ASCII characters; empty means none. */
export function cleanRequestId(
  requestId: string,
  violations: FieldViolation[],
): string | undefined {
  if (requestId === "") return undefined;
  if (!printableAscii.test(requestId)) {
    violations.push({
      field: "request_id",
      description: "must be 1 to 64 printable ASCII characters, e.g. a UUID",
    });
  }
  return requestId;
}

/** Throws INVALID_ARGUMENT with every violation, if there are any. */
export function throwIfInvalid(violations: FieldViolation[]): void {
  if (violations.length > 0) throw invalidArgument(violations);
}

/** A stable hash of a validated request, so a reused request_id can be told apart. */
export function fingerprint(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("base64url");
}

export interface UpdateMaskRule<F extends string> {
  /** Field paths that may be updated. */
  mutable: readonly F[];
  /** Paths accepted and ignored: output-only fields, `id`, `etag`. */
  ignored: readonly string[];
  /** Whether the request populates a field (used when the mask is empty). */
  populated: (field: F) => boolean;
}

/**
 * The fields an update touches, by AIP-134: no paths means every populated field, `*` means
 * every mutable field, unknown paths are INVALID_ARGUMENT on `update_mask`.
 */
export function resolveUpdateMask<F extends string>(
  paths: readonly string[] | undefined,
  rule: UpdateMaskRule<F>,
): Set<F> {
  if (!paths || paths.length === 0) return new Set(rule.mutable.filter(rule.populated));
  if (paths.includes("*")) return new Set(rule.mutable);
  const fields = new Set<F>();
  for (const path of paths) {
    if ((rule.mutable as readonly string[]).includes(path)) fields.add(path as F);
    else if (!rule.ignored.includes(path)) {
      throw invalidField(
        "update_mask",
        `unknown field path "${path}"; updatable fields are ${rule.mutable.join(", ")}`,
      );
    }
  }
  return fields;
}
