import type { EqualityOp, FilterExpr, OrderOp } from "./ast.js";
import { timestampMicros } from "./timestamp.js";

/**
 * A record's values as filters compare them: what the SQL of compile.ts reads from its
 * columns, so that a filter applied here and in the database select the same records.
 */
export interface FilterValues {
  /** Normalized (NFC, lower-case) text; "" when absent. An id field's value lower-cased. */
  text(field: string): string;
  /** Microseconds since the epoch. */
  time(field: string): bigint;
  number(field: string): number;
}

/** Code-point order, as the "C" collation sorts (JavaScript's own < compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function holds(difference: number, op: OrderOp | EqualityOp): boolean {
  switch (op) {
    case "=":
      return difference === 0;
    case "!=":
      return difference !== 0;
    case "<":
      return difference < 0;
    case "<=":
      return difference <= 0;
    case ">":
      return difference > 0;
    case ">=":
      return difference >= 0;
  }
}

/**
 * Whether a record meets a filter, in memory: how one change-feed reader serves every
 * watcher's own filter without a query per watcher. Bare search terms are not supported
 * (no RPC that evaluates filters here accepts them).
 */
export function evaluateFilter(expr: FilterExpr, values: FilterValues): boolean {
  switch (expr.kind) {
    case "and":
      return expr.operands.every((e) => evaluateFilter(e, values));
    case "or":
      return expr.operands.some((e) => evaluateFilter(e, values));
    case "not":
      return !evaluateFilter(expr.operand, values);
    case "term":
      throw new Error("search terms are not evaluated in memory");
    case "text_match": {
      const value = values.text(expr.field);
      switch (expr.match) {
        case "equals":
          return value === expr.value;
        case "prefix":
          return value.startsWith(expr.value);
        case "suffix":
          return value.endsWith(expr.value);
        case "contains":
          return value.includes(expr.value);
        case "present":
          return value !== "";
      }
      return false;
    }
    case "text_order":
      return holds(compareCodePoints(values.text(expr.field), expr.value), expr.op);
    case "number":
      return holds(values.number(expr.field) - expr.value, expr.op);
    case "time": {
      const d = values.time(expr.field) - timestampMicros(expr.value);
      return holds(d < 0n ? -1 : d > 0n ? 1 : 0, expr.op);
    }
  }
}
