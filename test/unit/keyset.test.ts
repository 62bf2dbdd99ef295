import { sql } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/errors.js";
import {
  cursorValues,
  orderByKeys,
  pageOf,
  partsAfter,
  rowsAfter,
  type SortKey,
} from "../../src/store/keyset.js";
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

describe("cursorValues()", () => {
  it("passes a cursor of the list's shape and refuses any other as a bad page token", () => {
    const shape = ["string or null", "number", "string"] as const;
    expect(cursorValues([null, 3, "01ARZ"], shape)).toEqual([null, 3, "01ARZ"]);
    expect(cursorValues(["r-1", 0, "01ARZ"], shape)).toEqual(["r-1", 0, "01ARZ"]);
    for (const bad of [[null, 3], [null, "3", "01ARZ"], [1, 3, "01ARZ"], [null, 3, null], []]) {
      let thrown: unknown;
      try {
        cursorValues(bad, shape);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, JSON.stringify(bad)).toBeInstanceOf(DomainError);
      expect((thrown as DomainError).details.fieldViolations?.[0]?.field).toBe("page_token");
    }
  });
});

describe("pageOf()", () => {
  it("keeps `limit` rows and points after the last only when one more was read", () => {
    const cursor = (n: number) => [n];
    expect(pageOf([1, 2, 3], 2, cursor)).toEqual({ items: [1, 2], next: [2] });
    expect(pageOf([1, 2], 2, cursor)).toEqual({ items: [1, 2], next: undefined });
    expect(pageOf([], 2, cursor)).toEqual({ items: [], next: undefined });
  });
});
