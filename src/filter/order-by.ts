import { queryTextProblem } from "../domain/text.js";
import { type FieldViolation, invalidField } from "../errors.js";

/** Fields ListCustomers can sort by. */
export const orderFields = [
  "name",
  "reference_number",
  "create_time",
  "update_time",
  "service_instance_count",
  "id",
] as const;

export type OrderField = (typeof orderFields)[number];

export interface OrderKey {
  field: OrderField;
  desc: boolean;
}

/** The longest order_by accepted, in characters. */
export const MAX_ORDER_BY_LENGTH = 200;

const isOrderField = (value: string): value is OrderField =>
  (orderFields as readonly string[]).includes(value);

/**
 * Parses an AIP-132 order_by: a comma list of fields, each optionally followed by `asc` or
 * `desc`. Empty means the default (`name`). Ties are broken by `id` ascending, which is
 * appended unless a unique key (`name` or `id`) is already there. Returns the keys or pushes
 * a violation on `field`.
 */
export function parseOrderBy(
  text: string,
  field: string,
  violations: FieldViolation[],
): OrderKey[] | undefined {
  const fail = (description: string) => {
    violations.push({ field, description });
    return undefined;
  };
  const problem = queryTextProblem(text, MAX_ORDER_BY_LENGTH);
  if (problem) return fail(problem.description);
  const keys: OrderKey[] = [];
  if (text.trim() !== "") {
    for (const [index, item] of text.split(",").entries()) {
      const words = item.trim().split(/\s+/);
      const [name = "", direction, extra] = words;
      if (name === "") return fail(`item ${index + 1} is empty`);
      if (!isOrderField(name)) {
        return fail(`cannot sort by "${name}"; use one of ${orderFields.join(", ")}`);
      }
      if (
        extra !== undefined ||
        (direction !== undefined && !["asc", "desc"].includes(direction))
      ) {
        return fail(`"${item.trim()}": a field may only be followed by "asc" or "desc"`);
      }
      if (keys.some((k) => k.field === name)) return fail(`"${name}" is listed twice`);
      keys.push({ field: name, desc: direction === "desc" });
    }
  }
  if (keys.length === 0) keys.push({ field: "name", desc: false });
  // Names and ids are unique: keys after them can never decide and are dropped. Any other
  // order gets its ties broken by id ascending.
  const unique = keys.findIndex((k) => k.field === "name" || k.field === "id");
  if (unique >= 0) return keys.slice(0, unique + 1);
  keys.push({ field: "id", desc: false });
  return keys;
}

/** Like {@link parseOrderBy}, throwing INVALID_ARGUMENT on `field`. */
export function parseOrderByOrThrow(text: string, field: string): OrderKey[] {
  const violations: FieldViolation[] = [];
  const keys = parseOrderBy(text, field, violations);
  if (!keys) throw invalidField(field, violations[0]?.description ?? "is invalid");
  return keys;
}

/** The canonical text of an order, e.g. `name` or `service_instance_count desc, id`. */
export const orderText = (keys: OrderKey[]): string =>
  keys.map((k) => (k.desc ? `${k.field} desc` : k.field)).join(", ");
