// Criteria the operator picks (field, operator, value), composed into the API's filter
// language (AIP-160 as the service implements it; see the README).

export type FieldKind = "text" | "number" | "time";

export const filterFields: { name: string; label: string; kind: FieldKind }[] = [
  { name: "name", label: "Name", kind: "text" },
  { name: "reference_number", label: "Reference number", kind: "text" },
  { name: "description", label: "Description", kind: "text" },
  { name: "id", label: "Customer ID", kind: "text" },
  { name: "service_instance_count", label: "Service instances", kind: "number" },
  { name: "create_time", label: "Created", kind: "time" },
  { name: "update_time", label: "Updated", kind: "time" },
];

export const operators: Record<FieldKind, { op: string; label: string; needsValue: boolean }[]> = {
  text: [
    { op: "contains", label: "contains", needsValue: true },
    { op: "equals", label: "is", needsValue: true },
    { op: "not_equals", label: "is not", needsValue: true },
    { op: "starts_with", label: "starts with", needsValue: true },
    { op: "ends_with", label: "ends with", needsValue: true },
    { op: "empty", label: "is empty", needsValue: false },
    { op: "not_empty", label: "is not empty", needsValue: false },
  ],
  number: [
    { op: "=", label: "=", needsValue: true },
    { op: "!=", label: "≠", needsValue: true },
    { op: ">", label: ">", needsValue: true },
    { op: ">=", label: "≥", needsValue: true },
    { op: "<", label: "<", needsValue: true },
    { op: "<=", label: "≤", needsValue: true },
  ],
  time: [
    { op: ">=", label: "on or after", needsValue: true },
    { op: "<", label: "before", needsValue: true },
  ],
};

export interface Criterion {
  field: string;
  op: string;
  value: string;
}

/** A quoted filter value: `\`, `"` and `*` escaped, so that stars are literal. */
export function quote(value: string): string {
  return `"${value.replace(/[\\"*]/g, (c) => `\\${c}`)}"`;
}

export function kindOf(field: string): FieldKind {
  return filterFields.find((f) => f.name === field)?.kind ?? "text";
}

/** One criterion as filter text; undefined while it lacks a value it needs. */
export function criterionText(c: Criterion): string | undefined {
  const kind = kindOf(c.field);
  const spec = operators[kind].find((o) => o.op === c.op);
  if (!spec) return undefined;
  const value = c.value.trim();
  if (spec.needsValue && value === "") return undefined;
  if (kind === "number") return `${c.field} ${c.op} ${value}`;
  if (kind === "time") {
    // <input type="datetime-local"> gives local time without an offset.
    const time = new Date(value);
    if (Number.isNaN(time.getTime())) return undefined;
    return `${c.field} ${c.op} "${time.toISOString()}"`;
  }
  const quoted = quote(value);
  const inner = quoted.slice(1, -1);
  switch (c.op) {
    case "contains":
      return `${c.field} : ${quoted}`;
    case "equals":
      return `${c.field} = ${quoted}`;
    case "not_equals":
      return `${c.field} != ${quoted}`;
    case "starts_with":
      return `${c.field} = "${inner}*"`;
    case "ends_with":
      return `${c.field} = "*${inner}"`;
    case "empty":
      return `${c.field} = ""`;
    default:
      return `${c.field} != ""`;
  }
}

/** All complete criteria, each must hold. */
export function composeFilter(criteria: Criterion[]): string {
  return criteria
    .map(criterionText)
    .filter((t): t is string => t !== undefined)
    .join(" AND ");
}
