import { normalizeKey } from "../domain/text.js";
import type { CustomerChange } from "../domain/types.js";
import { evaluateFilter, type FilterValues } from "../filter/evaluate.js";
import type { ChangeSelection } from "../store/changes.js";

/** A change's values as change filters compare them (the SQL side: store/changes.ts). */
function valuesOf(change: CustomerChange): FilterValues {
  return {
    text(field) {
      switch (field) {
        case "kind":
          return change.kind.toLowerCase();
        case "actor":
          return normalizeKey(change.actor);
        case "request_id":
          return change.requestId.toLowerCase();
        case "customer_id":
          return change.customerId.toLowerCase();
        default:
          throw new Error(`no change filter field "${field}"`);
      }
    },
    time: () => BigInt(change.changeTime.getTime()) * 1000n,
    number: (field) => {
      throw new Error(`no change filter field "${field}"`);
    },
  };
}

/** The in-memory test of a watcher's selection: what the database would select. */
export function changeMatcher({
  customerId,
  filter,
}: ChangeSelection): (change: CustomerChange) => boolean {
  return (change) =>
    (customerId === undefined || change.customerId === customerId) &&
    (filter === undefined || evaluateFilter(filter, valuesOf(change)));
}
