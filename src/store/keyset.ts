import { type AnyColumn, type SQL, sql } from "drizzle-orm";

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
 * The condition for rows strictly after the row whose key values are `values` (bound
 * parameters, one per key) in the order of `keys`.
 *
 * Keys that all go one way are one row comparison, which PostgreSQL answers with an index
 * range scan. With mixed directions (ties are broken by id ascending, so `x desc` makes
 * one) the exact condition is an OR chain; the row comparison of the leading keys that go
 * the same way is added as a bound so that the index scan still starts at the cursor.
 */
export function rowsAfter(keys: SortKey[], values: SQL[]): SQL {
  if (keys.length !== values.length || keys.length === 0) {
    throw new Error("keyset: keys and values differ in length");
  }
  const first = keys[0] as SortKey;
  let run = 1;
  while (run < keys.length && (keys[run] as SortKey).desc === first.desc) run++;
  const columns = sql.join(
    keys.slice(0, run).map((k) => sql`${k.expr}`),
    sql`, `,
  );
  const params = sql.join(values.slice(0, run), sql`, `);
  if (run === keys.length) {
    return first.desc ? sql`(${columns}) < (${params})` : sql`(${columns}) > (${params})`;
  }
  const bound = first.desc ? sql`(${columns}) <= (${params})` : sql`(${columns}) >= (${params})`;
  return sql`(${bound} and ${after(keys, values, 0)})`;
}

function after(keys: SortKey[], values: SQL[], i: number): SQL {
  const key = keys[i] as SortKey;
  const value = values[i] as SQL;
  const strictly = key.desc ? sql`${key.expr} < ${value}` : sql`${key.expr} > ${value}`;
  if (i === keys.length - 1) return strictly;
  return sql`(${strictly} or (${key.expr} = ${value} and ${after(keys, values, i + 1)}))`;
}
