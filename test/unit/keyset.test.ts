import { sql } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import { describe, expect, it } from "vitest";
import { orderByKeys, partsAfter, rowsAfter, type SortKey } from "../../src/store/keyset.js";
import { customers } from "../../src/store/schema.js";

const dialect = new PgDialect();
const render = (keys: SortKey[], values: unknown[]) =>
  dialect.sqlToQuery(
    rowsAfter(
      keys,
      values.map((v) => sql`${v}`),
    ),
  );

const id: SortKey = { expr: customers.id, desc: false };
const count: SortKey = { expr: customers.serviceInstanceCount, desc: false };
const isNull: SortKey = { expr: sql`(${customers.referenceKey} is null)`, desc: false };
const reference: SortKey = { expr: sql`coalesce(${customers.referenceKey}, '')`, desc: false };

describe("rowsAfter()", () => {
  it("is one row comparison when every key goes the same way, values bound", () => {
    const query = render([count, id], [7, "o'brien; drop table customers"]);
    expect(query.sql).toBe('("customers"."service_instance_count", "customers"."id") > ($1, $2)');
    expect(query.params).toEqual([7, "o'brien; drop table customers"]);
    const desc = render(
      [
        { ...count, desc: true },
        { ...id, desc: true },
      ],
      [1, "b"],
    );
    expect(desc.sql).toBe('("customers"."service_instance_count", "customers"."id") < ($1, $2)');
  });

  it("reads a mixed order in parts: the rest of the cursor's group, then what follows", () => {
    const parts = partsAfter([{ ...count, desc: true }, id], [sql`${3}`, sql`${"X"}`]).map((p) =>
      dialect.sqlToQuery(p),
    );
    expect(parts.map((p) => p.sql)).toEqual([
      '("customers"."service_instance_count" = $1 and ("customers"."id") > ($2))',
      '("customers"."service_instance_count") < ($1)',
    ]);
    expect(parts.map((p) => p.params)).toEqual([[3, "X"], [3]]);
    expect(() => rowsAfter([{ ...count, desc: true }, id], [sql`${3}`, sql`${"X"}`])).toThrow();
  });

  it("groups keys of one direction into one row comparison per part", () => {
    const parts = partsAfter(
      [{ ...isNull, desc: true }, { ...reference, desc: true }, id],
      [sql`${false}`, sql`${"crm-1"}`, sql`${"X"}`],
    ).map((p) => dialect.sqlToQuery(p).sql);
    expect(parts).toEqual([
      `(("customers"."reference_key" is null) = $1 and coalesce("customers"."reference_key", '') = $2 and ("customers"."id") > ($3))`,
      `(("customers"."reference_key" is null), coalesce("customers"."reference_key", '')) < ($1, $2)`,
    ]);
  });

  it("refuses values that do not match the keys", () => {
    expect(() => render([count, id], ["a"])).toThrow();
  });
});

describe("orderByKeys()", () => {
  it("writes each key's direction", () => {
    const [first, second] = orderByKeys([{ ...count, desc: true }, id]);
    expect(dialect.sqlToQuery(first as never).sql).toBe(
      '"customers"."service_instance_count" desc',
    );
    expect(dialect.sqlToQuery(second as never).sql).toBe('"customers"."id" asc');
  });
});
