import { codePointLength } from "../domain/text.js";
import type { FieldViolation } from "../errors.js";

/** The longest filter accepted, in characters. */
export const MAX_FILTER_LENGTH = 2000;

/**
 * Checks the bounds of filter text (length, NUL, valid UTF-8) and returns it trimmed.
 * The AIP-160 grammar itself is parsed by the filter language (see the README's status).
 */
export function checkFilterText(
  text: string,
  field: string,
  violations: FieldViolation[],
): string | undefined {
  const fail = (description: string) => {
    violations.push({ field, description });
    return undefined;
  };
  if (text.includes("\u0000")) return fail("must not contain NUL characters");
  if (!text.isWellFormed()) return fail("must be valid UTF-8 text");
  const length = codePointLength(text);
  if (length > MAX_FILTER_LENGTH) {
    return fail(`must be at most ${MAX_FILTER_LENGTH} characters (got ${length})`);
  }
  return text.trim();
}
