/**
 * The typed filter tree the parser produces, the compiler turns into SQL and the evaluator
 * applies in memory. Field names are those of the RPC's {@link FilterFieldSet}.
 */

export const textFields = ["id", "name", "reference_number", "description"] as const;
export const numberFields = ["service_instance_count"] as const;
export const timeFields = ["create_time", "update_time"] as const;
export const filterFields = [...textFields, ...numberFields, ...timeFields] as const;

export type TextField = (typeof textFields)[number];
export type NumberField = (typeof numberFields)[number];
export type TimeField = (typeof timeFields)[number];
export type FilterField = (typeof filterFields)[number];

/** The fields one RPC's filters may name, by type, and whether bare keywords are allowed. */
export interface FilterFieldSet {
  readonly text: readonly string[];
  readonly number: readonly string[];
  readonly time: readonly string[];
  /** Bare values are keyword search terms (ListCustomers); elsewhere they are refused. */
  readonly terms: boolean;
}

/** ListCustomers and saved filters. */
export const customerFilterFields: FilterFieldSet = {
  text: textFields,
  number: numberFields,
  time: timeFields,
  terms: true,
};

/** ListCustomerChanges and WatchCustomerChanges. */
export const changeFilterFields: FilterFieldSet = {
  text: ["kind", "actor", "request_id", "customer_id"],
  number: [],
  time: ["change_time"],
  terms: false,
};

export type OrderOp = "<" | "<=" | ">" | ">=";
export type EqualityOp = "=" | "!=";

/**
 * How a text comparison matches the normalized value: `=` with `*` wildcards at its ends
 * gives prefix / suffix / contains; `= "*"` and `: "*"` mean the field has a value.
 */
export type TextMatch = "equals" | "prefix" | "suffix" | "contains" | "present";

export type FilterExpr =
  | { kind: "and"; operands: FilterExpr[] }
  | { kind: "or"; operands: FilterExpr[] }
  | { kind: "not"; operand: FilterExpr }
  /** A bare value: a keyword search term, as in `search`. Normalized. */
  | { kind: "term"; text: string }
  /** `=`, `:` (and `!=` as its negation) on a text field. Value normalized. */
  | { kind: "text_match"; field: string; match: TextMatch; value: string }
  /** `<`, `<=`, `>`, `>=` on a text field, in code-point order of normalized values. */
  | { kind: "text_order"; field: string; op: OrderOp; value: string }
  | { kind: "number"; field: string; op: OrderOp | EqualityOp; value: number }
  /** `value` is RFC 3339 cut to microseconds, e.g. `2024-01-31T09:30:00.123456+02:00`. */
  | { kind: "time"; field: string; op: OrderOp | EqualityOp; value: string };
