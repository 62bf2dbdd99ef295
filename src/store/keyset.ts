import { type AnyColumn, and, type SQL, sql } from "drizzle-orm";
import type { Cursor, Page } from "../domain/types.js";
import { invalidField } from "../errors.js";

/**
 * One key of a keyset order: a column or expression that is never null (nullable fields
 * are sorted through non-null expressions, see the customer store). The keys together
 * must be unique, e.g. end with the id.
 */
export interface SortKey {
  expr: AnyColumn | SQL;
  desc: boolean;
}

/** ORDER BY terms for `keys`. */
export function orderByKeys(keys: SortKey[]): SQL[] {
  return keys.map((k) => (k.desc ? sql`${k.expr} desc` : sql`${k.expr} asc`));
}

/**
 * The rows strictly after the row whose key values are `values` (bound parameters, one per
 * key), in the order of `keys`, as disjoint conditions to be read one after the other:
 * every row of a part comes before every row of the next.
 *
 * Keys that go one way make one row comparison, `(a, b) > ($1, $2)`, which PostgreSQL
 * answers with an index range scan that starts at the cursor. A mixed order (ties are broken
 * by id ascending, so `x desc` makes one) has one part per run of keys going one way:
 * for `count desc, id asc` the rest of the cursor's group, `count = $1 and id > $2`, then
 * `count < $1`. Each is again a range of the order's index, so a deep page inside a large
 * group of ties costs what the first page costs.
 */
export function partsAfter(keys: SortKey[], values: SQL[]): SQL[] {
  if (keys.length !== values.length || keys.length === 0) {
    throw new Error("keyset: keys and values differ in length");
  }
  const runs: { start: number; end: number }[] = [];
  keys.forEach((key, i) => {
    const last = runs[runs.length - 1];
    if (last && keys[last.start]?.desc === key.desc) last.end = i + 1;
    else runs.push({ start: i, end: i + 1 });
  });
  return runs
    .map(({ start, end }) => {
      const equalBefore = keys.slice(0, start).map((k, i) => sql`${k.expr} = ${values[i]}`);
      const columns = sql.join(
        keys.slice(start, end).map((k) => sql`${k.expr}`),
        sql`, `,
      );
      const params = sql.join(values.slice(start, end), sql`, `);
      const after = keys[start]?.desc
        ? sql`(${columns}) < (${params})`
        : sql`(${columns}) > (${params})`;
      return and(...equalBefore, after) as SQL;
    })
    .reverse();
}

/** The rows after the cursor for an order whose keys all go one way: one condition. */
export function rowsAfter(keys: SortKey[], values: SQL[]): SQL {
  const parts = partsAfter(keys, values);
  if (parts.length !== 1) throw new Error("keyset: a mixed order needs partsAfter()");
  return parts[0] as SQL;
}

/** What each value of a cursor must be, in order. */
export type CursorShape = readonly ("string" | "number" | "string or null")[];

/**
 * The values of a page token's cursor, checked against the shape the list writes. Tokens
 * are signed, so a mismatch is a token of another list or of another version of this one.
 */
export function cursorValues(cursor: Cursor, shape: CursorShape): Cursor {
  const fits =
    cursor.length === shape.length &&
    cursor.every((value, i) => {
      const kind = shape[i];
      if (value === null) return kind === "string or null";
      return typeof value === (kind === "number" ? "number" : "string");
    });
  if (!fits) throw invalidField("page_token", "is not a valid page token");
  return cursor;
}

/**
 * The page in `rows`, read with a limit of `limit + 1`: the first `limit` rows, and when
 * there was one more, the position after the last of them.
 */
export function pageOf<R>(rows: R[], limit: number, cursorOf: (row: R) => Cursor): Page<R> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next: rows.length > limit && last ? cursorOf(last) : undefined };
}
