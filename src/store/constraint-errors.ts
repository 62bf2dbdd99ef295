import { driverErrorOf } from "../errors.js";

/** Unique and foreign key violations, by constraint name. */
export function violatedConstraint(
  err: unknown,
): { kind: "unique" | "foreign_key"; constraint: string } | undefined {
  const driverError = driverErrorOf(err);
  if (!driverError?.constraint_name) return undefined;
  if (driverError.code === "23505")
    return { kind: "unique", constraint: driverError.constraint_name };
  if (driverError.code === "23503")
    return { kind: "foreign_key", constraint: driverError.constraint_name };
  return undefined;
}
