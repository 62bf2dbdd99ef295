import { type AnyColumn, type SQL, sql } from "drizzle-orm";

/** One key of a keyset order. The last key must be unique and not null (the id). */
export interface SortKey {
  column: AnyColumn;
  desc: boolean;
  /** Nulls sort after all values ascending and before them descending. */
  nullable: boolean;
}

export type KeyValue = string | number | Date | null;

/** ORDER BY terms for `keys`, with the null placement spelled out. */
export function orderByKeys(keys: SortKey[]): SQL[] {
  return keys.map((k) =>
    k.desc ? sql`${k.column} desc nulls first` : sql`${k.column} asc nulls last`,
  );
}

/**
 * The condition for rows strictly after `values` (the keys of the last row of a page) in the
 * order of `keys`. Every value is a bound parameter. When all keys are non-null and go the
 * same way it is one row comparison, which PostgreSQL answers with an index range scan.
 */
export function rowsAfter(keys: SortKey[], values: KeyValue[]): SQL {
  if (keys.length !== values.length || keys.length === 0) {
    throw new Error("keyset: keys and values differ in length");
  }
  const first = keys[0] as SortKey;
  if (keys.every((k) => !k.nullable && k.desc === first.desc)) {
    const columns = sql.join(
      keys.map((k) => sql`${k.column}`),
      sql`, `,
    );
    const params = sql.join(
      keys.map((k, i) => bind(k, values[i] ?? null)),
      sql`, `,
    );
    return first.desc ? sql`(${columns}) < (${params})` : sql`(${columns}) > (${params})`;
  }
  return after(keys, values, 0);
}

function after(keys: SortKey[], values: KeyValue[], i: number): SQL {
  const key = keys[i] as SortKey;
  const value = values[i] ?? null;
  const strictly = strictlyAfter(key, value);
  if (i === keys.length - 1) return strictly ?? sql`false`;
  const equal =
    value === null ? sql`${key.column} is null` : sql`${key.column} = ${bind(key, value)}`;
  const rest = sql`(${equal} and ${after(keys, values, i + 1)})`;
  return strictly ? sql`(${strictly} or ${rest})` : rest;
}

/** Rows whose `key` comes strictly after `value`; undefined when none can. */
function strictlyAfter(key: SortKey, value: KeyValue): SQL | undefined {
  if (value === null) {
    // Nulls are last ascending (nothing after them) and first descending (every value after).
    return key.desc ? sql`${key.column} is not null` : undefined;
  }
  const param = bind(key, value);
  if (key.desc) return sql`${key.column} < ${param}`;
  return key.nullable
    ? sql`(${key.column} > ${param} or ${key.column} is null)`
    : sql`${key.column} > ${param}`;
}

/** A bound parameter encoded as its column encodes values (a Date for a timestamp, say). */
const bind = (key: SortKey, value: KeyValue) => sql.param(value, key.column);

/** Escapes LIKE metacharacters so that `text` matches literally (backslash is the escape). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
