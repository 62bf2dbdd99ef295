import { type AnyColumn, type SQL, sql } from "drizzle-orm";
import type {
  EqualityOp,
  FilterExpr,
  NumberField,
  OrderOp,
  TextField,
  TextMatch,
  TimeField,
} from "./ast.js";

/** The columns a filter reads; the store passes its own. */
export interface FilterColumns {
  /** The upper-case ULID. */
  id: AnyColumn;
  /** Normalized (NFC, lower-case, code-point collated) values of the other text fields. */
  text: Record<Exclude<TextField, "id">, { key: AnyColumn; nullable: boolean }>;
  number: Record<NumberField, AnyColumn>;
  time: Record<TimeField, AnyColumn>;
  /** Every text field's normalized value, one per line: where search terms are looked for. */
  searchText: AnyColumn;
}

// Fixed SQL for each comparator: the filter text itself never becomes SQL.
const operators: Record<OrderOp | EqualityOp, SQL> = {
  "=": sql.raw("="),
  "!=": sql.raw("<>"),
  "<": sql.raw("<"),
  "<=": sql.raw("<="),
  ">": sql.raw(">"),
  ">=": sql.raw(">="),
};

/** Escapes LIKE metacharacters so that `text` matches literally (backslash is the escape). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const contains = (column: AnyColumn, value: string) =>
  sql`${column} like ${`%${escapeLike(value)}%`}`;

/**
 * Compiles a filter tree to a SQL condition in which every value is a bound parameter.
 * Each comparison is true, or false or NULL exactly when it does not hold, so NOT is
 * written `is not true` and stays right for customers without a reference number.
 */
export function compileFilter(expr: FilterExpr, columns: FilterColumns): SQL {
  const compile = (e: FilterExpr): SQL => {
    switch (e.kind) {
      case "and":
        return sql`(${sql.join(e.operands.map(compile), sql` and `)})`;
      case "or":
        return sql`(${sql.join(e.operands.map(compile), sql` or `)})`;
      case "not":
        return sql`((${compile(e.operand)}) is not true)`;
      case "term":
        return e.text === "" ? sql`true` : contains(columns.searchText, e.text);
      case "text_match":
        return textMatch(e.field, e.match, e.value, columns);
      case "text_order": {
        const key =
          e.field === "id"
            ? sql`lower(${columns.id})`
            : columns.text[e.field].nullable
              ? sql`coalesce(${columns.text[e.field].key}, '')`
              : sql`${columns.text[e.field].key}`;
        return sql`${key} ${operators[e.op]} ${e.value}`;
      }
      case "number":
        return sql`${columns.number[e.field]} ${operators[e.op]} ${e.value}`;
      case "time":
        return sql`${columns.time[e.field]} ${operators[e.op]} ${e.value}::timestamptz`;
    }
  };
  return compile(expr);
}

function textMatch(field: TextField, match: TextMatch, value: string, columns: FilterColumns): SQL {
  if (match === "contains" && value === "") return sql`true`;
  let column: AnyColumn;
  let nullable = false;
  let operand = value;
  if (field === "id") {
    if (match === "present") return sql`true`;
    // Ids are upper-case ASCII: a value with anything else cannot match one.
    if (/[^\x20-\x7e]/.test(value)) return sql`false`;
    column = columns.id;
    operand = value.toUpperCase();
  } else {
    ({ key: column, nullable } = columns.text[field]);
  }
  let condition: SQL;
  switch (match) {
    case "present":
      return nullable ? sql`${column} is not null` : sql`${column} <> ''`;
    case "equals":
      if (operand === "") return nullable ? sql`${column} is null` : sql`${column} = ''`;
      condition = sql`${column} = ${operand}`;
      break;
    case "prefix":
      condition = sql`${column} like ${`${escapeLike(operand)}%`}`;
      break;
    case "suffix":
      condition = sql`${column} like ${`%${escapeLike(operand)}`}`;
      break;
    case "contains":
      condition = contains(column, operand);
      break;
  }
  // Every field's value is a line of the search text, so this holds whenever the match
  // does, and the trigram index on the search text can find candidates where no B-tree on
  // the column can (substrings, suffixes, descriptions).
  const indexed = match === "contains" || match === "suffix" || field === "description";
  return indexed ? sql`(${contains(columns.searchText, value)} and ${condition})` : condition;
}

/**
 * Whether the filter requires a substring match (found through the trigram index) outside
 * any negation. Rows meeting such a filter may cluster anywhere in a sort order, which
 * the planner cannot know: see the customer store's list.
 */
export function requiresSubstringMatch(expr: FilterExpr): boolean {
  switch (expr.kind) {
    case "and":
    case "or":
      return expr.operands.some(requiresSubstringMatch);
    case "term":
      return expr.text !== "";
    case "text_match":
      return (
        (expr.match === "contains" || expr.match === "suffix" || expr.field === "description") &&
        expr.match !== "present" &&
        expr.value !== ""
      );
    default:
      return false;
  }
}
