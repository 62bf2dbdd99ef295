import { normalizeKey, queryTextProblem } from "../domain/text.js";
import type { FieldViolation } from "../errors.js";

/** The longest search accepted, in characters. */
export const MAX_SEARCH_LENGTH = 200;

/**
 * Splits keyword search text into normalized terms (white space as `trim()` defines it).
 * No quoting and no operators: every character of a term is literal. Pushes a violation on
 * `field` for a NUL, invalid UTF-8 or text over {@link MAX_SEARCH_LENGTH} characters.
 */
export function parseSearch(
  text: string,
  field: string,
  violations: FieldViolation[],
): string[] | undefined {
  const problem = queryTextProblem(text, MAX_SEARCH_LENGTH);
  if (problem) {
    violations.push({ field, description: problem.description });
    return undefined;
  }
  // The same white space set as String.prototype.trim (WhiteSpace and LineTerminator).
  const terms = text.split(/[\s\ufeff]+/u).filter((t) => t !== "");
  return [...new Set(terms.map(normalizeKey))];
}
