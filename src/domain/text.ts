import type { FieldViolation } from "../errors.js";

/**
 * The normalized form used for case-insensitive comparison: Unicode NFC, then full
 * (locale-independent) lower case. `CAFÉ`, `café` and `cafe\u0301` share one key.
 */
export function normalizeKey(value: string): string {
  return value.normalize("NFC").toLowerCase();
}

/** Counts Unicode code points, not UTF-16 units. */
export function codePointLength(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

/** What is wrong with query text, and the 1-based code point position where it is. */
export interface QueryTextProblem {
  description: string;
  pos: number;
}

/**
 * What is wrong with query text (a search, a filter, an order_by, a page token) before it is
 * read at all: a NUL, which PostgreSQL refuses, broken UTF-16, or more than `max` code
 * points (at `max + 1`, where the limit is crossed). Undefined if none.
 */
export function queryTextProblem(text: string, max: number): QueryTextProblem | undefined {
  let pos = 0;
  for (const char of text) {
    pos++;
    if (char === "\u0000") return { description: "must not contain NUL characters", pos };
    // A lone surrogate is one element of its own, and not well formed.
    if (char.length === 1 && !char.isWellFormed()) {
      return { description: "must be valid UTF-8 text", pos };
    }
  }
  if (pos > max)
    return { description: `must be at most ${max} characters (got ${pos})`, pos: max + 1 };
  return undefined;
}

// Cc (C0, DEL, C1) and the bidi embedding/override/isolate controls.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const forbiddenAnywhere = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const forbiddenInMultiline = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

export interface TextRule {
  /** The request path reported in a violation, e.g. `customer.name`. */
  field: string;
  /** Minimum length in code points after trimming (1 makes the field required). */
  min: number;
  /** Maximum length in code points after trimming. */
  max: number;
  /** Allow `\n` and `\t` inside the value. */
  multiline?: boolean;
}

/**
 * Applies the contract's text rules: trim, then reject control and bidi characters,
 * invalid UTF-8 (lone surrogates, U+FFFD left by a lossy decoder) and bad lengths.
 * Returns the cleaned value, or undefined after pushing a violation.
 */
export function cleanText(
  raw: string,
  rule: TextRule,
  violations: FieldViolation[],
): string | undefined {
  const value = raw.trim();
  const fail = (description: string) => {
    violations.push({ field: rule.field, description });
    return undefined;
  };
  if (!value.isWellFormed() || value.includes("\ufffd")) {
    return fail("must be valid UTF-8 text");
  }
  if ((rule.multiline ? forbiddenInMultiline : forbiddenAnywhere).test(value)) {
    return fail(
      rule.multiline
        ? "must not contain control characters other than newline and tab, or bidi controls"
        : "must not contain control characters or bidi controls",
    );
  }
  const length = codePointLength(value);
  if (length < rule.min) {
    return fail(rule.min === 1 ? "is required" : `must be at least ${rule.min} characters`);
  }
  if (length > rule.max) {
    return fail(`must be at most ${rule.max} characters (got ${length})`);
  }
  return value;
}
