import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Customer } from "../../gen/customerinventory/v1/resources_pb.js";
import type { FilterExpr } from "../../src/filter/ast.js";
import type { OrderKey } from "../../src/filter/order-by.js";

/**
 * The contract's filter, search and order rules written once more, plainly, in JavaScript:
 * what the SQL the service generates must agree with.
 */
const norm = (s: string) => s.normalize("NFC").toLowerCase();

/** Code-point order (JavaScript's own < compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

const textOf = (c: Customer, field: string) =>
  field === "id"
    ? c.id.toLowerCase()
    : norm(
        field === "name"
          ? c.name
          : field === "reference_number"
            ? c.referenceNumber
            : c.description,
      );

/** Microseconds since the epoch of a timestamp as the parser normalizes it. */
export function micros(rfc3339: string): bigint {
  const m = /^(.*:\d\d)\.(\d{6})(.*)$/.exec(rfc3339);
  if (!m) throw new Error(`not normalized: ${rfc3339}`);
  const [, head, fraction = "", offset] = m;
  return BigInt(Date.parse(`${head}${offset}`)) * 1000n + BigInt(fraction);
}

const customerMicros = (c: Customer, field: string) => {
  const t = field === "create_time" ? c.createTime : c.updateTime;
  return BigInt(timestampDate(t as NonNullable<typeof t>).getTime()) * 1000n;
};

function compare<T>(a: T, op: string, b: T, cmp: (x: T, y: T) => number): boolean {
  const d = cmp(a, b);
  switch (op) {
    case "=":
      return d === 0;
    case "!=":
      return d !== 0;
    case "<":
      return d < 0;
    case "<=":
      return d <= 0;
    case ">":
      return d > 0;
    default:
      return d >= 0;
  }
}

export function matches(c: Customer, e: FilterExpr): boolean {
  switch (e.kind) {
    case "and":
      return e.operands.every((o) => matches(c, o));
    case "or":
      return e.operands.some((o) => matches(c, o));
    case "not":
      return !matches(c, e.operand);
    case "term":
      return (["name", "id", "reference_number", "description"] as const).some((f) =>
        textOf(c, f).includes(e.text),
      );
    case "text_match": {
      const v = textOf(c, e.field);
      switch (e.match) {
        case "equals":
          return v === e.value;
        case "prefix":
          return v.startsWith(e.value);
        case "suffix":
          return v.endsWith(e.value);
        case "contains":
          return v.includes(e.value);
        case "present":
          return v !== "";
      }
      return false;
    }
    case "text_order":
      return compare(textOf(c, e.field), e.op, e.value, compareCodePoints);
    case "number":
      return compare(c.serviceInstanceCount, e.op, e.value, (x, y) => x - y);
    case "time":
      return compare(customerMicros(c, e.field), e.op, micros(e.value), (x, y) =>
        x < y ? -1 : x > y ? 1 : 0,
      );
  }
}

/** Sorts as order_by says: normalized strings in code-point order, no reference last ascending. */
export function sortCustomers(customers: Customer[], order: OrderKey[]): Customer[] {
  const key = (c: Customer, field: OrderKey["field"]): string | number | bigint | null => {
    switch (field) {
      case "name":
        return norm(c.name);
      case "reference_number":
        return c.referenceNumber === "" ? null : norm(c.referenceNumber);
      case "service_instance_count":
        return c.serviceInstanceCount;
      case "id":
        return c.id;
      default:
        return customerMicros(c, field);
    }
  };
  const cmp = (a: Customer, b: Customer) => {
    for (const { field, desc } of order) {
      const x = key(a, field);
      const y = key(b, field);
      let d: number;
      if (x === null || y === null) d = x === y ? 0 : x === null ? 1 : -1;
      else if (typeof x === "string") d = compareCodePoints(x, y as string);
      else d = x < (y as typeof x) ? -1 : x > (y as typeof x) ? 1 : 0;
      if (d !== 0) return desc ? -d : d;
    }
    return 0;
  };
  return [...customers].sort(cmp);
}
