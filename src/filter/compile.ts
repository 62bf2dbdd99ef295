import { type AnyColumn, type SQL, sql } from "drizzle-orm";
import type { EqualityOp, FilterExpr, OrderOp, TextMatch } from "./ast.js";

/** How a text field is stored. */
export interface TextColumn {
  /**
   * Its normalized value (NFC, lower-case, code-point collated), or for an `id` field the
   * upper-case ULID itself.
   */
  key: AnyColumn | SQL;
  nullable: boolean;
  /** An upper-case ULID: compared with the value upper-cased. */
  id?: boolean;
  /** No B-tree of its own: every match looks for candidates through the search text. */
  onlyInSearchText?: boolean;
}

/** The columns a filter reads, by field name; the store passes its own. */
export interface FilterColumns {
  text: Readonly<Record<string, TextColumn>>;
  number: Readonly<Record<string, AnyColumn>>;
  time: Readonly<Record<string, AnyColumn>>;
  /**
   * Every text field's normalized value, one per line: where search terms are looked for,
   * and what its trigram index finds substring candidates in. Absent where filters take no
   * search terms.
   */
  searchText?: AnyColumn;
}

/** The column of `field`; the parser only lets through fields of the RPC's own set. */
function columnOf<C>(columns: Readonly<Record<string, C>>, field: string): C {
  const column = columns[field];
  if (column === undefined) throw new Error(`no column for filter field "${field}"`);
  return column;
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

const contains = (column: AnyColumn | SQL, value: string) =>
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
        if (e.text === "") return sql`true`;
        if (!columns.searchText) throw new Error("this filter takes no search terms");
        return contains(columns.searchText, e.text);
      case "text_match":
        return textMatch(columnOf(columns.text, e.field), e.match, e.value, columns.searchText);
      case "text_order": {
        const { key, nullable, id } = columnOf(columns.text, e.field);
        const compared = id ? sql`lower(${key})` : nullable ? sql`coalesce(${key}, '')` : key;
        return sql`${compared} ${operators[e.op]} ${e.value}`;
      }
      case "number":
        return sql`${columnOf(columns.number, e.field)} ${operators[e.op]} ${e.value}`;
      case "time":
        return sql`${columnOf(columns.time, e.field)} ${operators[e.op]} ${e.value}::timestamptz`;
    }
  };
  return compile(expr);
}

function textMatch(
  { key: column, nullable, id, onlyInSearchText }: TextColumn,
  match: TextMatch,
  value: string,
  searchText: AnyColumn | undefined,
): SQL {
  if (match === "contains" && value === "") return sql`true`;
  let operand = value;
  if (id) {
    if (match === "present") return nullable ? sql`${column} is not null` : sql`${column} <> ''`;
    // Ids are upper-case ASCII: a value with anything else cannot match one.
    if (/[^\x20-\x7e]/.test(value)) return sql`false`;
    operand = value.toUpperCase();
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
  const indexed = searchText && (match === "contains" || match === "suffix" || onlyInSearchText);
  return indexed ? sql`(${contains(searchText, value)} and ${condition})` : condition;
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
