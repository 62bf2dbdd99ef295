import { queryTextProblem } from "../domain/text.js";
import type { FieldViolation } from "../errors.js";
import { customerFilterFields, type FilterExpr, type FilterFieldSet } from "./ast.js";
import { FilterSyntaxError } from "./lexer.js";
import { parseFilterExpression } from "./parser.js";

/** The longest filter accepted, in characters. */
export const MAX_FILTER_LENGTH = 2000;

/** A checked filter: `expr` is undefined when the filter is empty. */
export interface ParsedFilter {
  expr: FilterExpr | undefined;
}

/**
 * Checks the bounds of filter text (length, NUL, valid UTF-8) and parses it. Returns the
 * tree, or undefined after pushing a violation on `field` whose description ends with
 * the 1-based position of the problem (`at N`).
 */
export function parseFilter(
  text: string,
  field: string,
  violations: FieldViolation[],
  fields: FilterFieldSet = customerFilterFields,
): ParsedFilter | undefined {
  const fail = (description: string) => {
    violations.push({ field, description });
    return undefined;
  };
  const problem = queryTextProblem(text, MAX_FILTER_LENGTH);
  if (problem) return fail(`${problem.description} at ${problem.pos}`);
  try {
    return { expr: parseFilterExpression(text, fields) };
  } catch (err) {
    if (err instanceof FilterSyntaxError) return fail(err.message);
    throw err;
  }
}

/** All of `exprs` must hold; undefined when there are none. */
export function allOf(...exprs: (FilterExpr | undefined)[]): FilterExpr | undefined {
  const operands = exprs.filter((e): e is FilterExpr => e !== undefined);
  if (operands.length <= 1) return operands[0];
  return { kind: "and", operands };
}

/** Keyword search terms (already normalized) as a filter: each must occur. */
export function searchTermsExpr(terms: readonly string[]): FilterExpr | undefined {
  return allOf(...terms.map((text): FilterExpr => ({ kind: "term", text })));
}
