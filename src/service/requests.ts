import { createHash } from "node:crypto";
import { cleanId } from "../domain/ids.js";
import { cleanText, type TextRule } from "../domain/text.js";
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
function throwIfInvalid(violations: FieldViolation[]): void {
  if (violations.length > 0) throw invalidArgument(violations);
}

/** The checks of one request; each pushes onto `violations` what is wrong with its field. */
export interface RequestCheck {
  /** For checks that take the list themselves (filters, field groups, custom rules). */
  readonly violations: FieldViolation[];
  /** A ULID, upper-cased. */
  id(value: string, field: string): string;
  /** Text by its rule, trimmed. */
  text(value: string, rule: TextRule): string;
  /** page_size by the AIP-158 rules. */
  pageSize(value: number): number;
  /** A request_id; undefined when none was sent. */
  requestId(value: string): string | undefined;
}

/**
 * Cleans a request with `clean`, so that every bad field is reported at once: returns what
 * `clean` returns, or throws INVALID_ARGUMENT with every violation. The values the checks
 * return for a bad field are placeholders that never leave this function.
 */
export function checkRequest<T>(clean: (check: RequestCheck) => T): T {
  const violations: FieldViolation[] = [];
  const required = <V>(cleaned: () => V | undefined, placeholder: V): V => {
    const before = violations.length;
    const value = cleaned();
    if (value !== undefined) return value;
    // A check that cleans nothing must say why, or the placeholder would escape.
    if (violations.length === before) throw new Error("a request check failed without a violation");
    return placeholder;
  };
  const check: RequestCheck = {
    violations,
    id: (value, field) => required(() => cleanId(value, field, violations), ""),
    text: (value, rule) => required(() => cleanText(value, rule, violations), ""),
    pageSize: (value) => cleanPageSize(value, violations),
    requestId: (value) => cleanRequestId(value, violations),
  };
  const result = clean(check);
  throwIfInvalid(violations);
  return result;
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
