import { PgDialect } from "drizzle-orm/pg-core";
import { describe, expect, it } from "vitest";
import { escapeLike, orderByKeys, rowsAfter, type SortKey } from "../../src/store/keyset.js";
import { customers } from "../../src/store/schema.js";

const dialect = new PgDialect();
const render = (keys: SortKey[], values: Parameters<typeof rowsAfter>[1]) =>
  dialect.sqlToQuery(rowsAfter(keys, values));

const id: SortKey = { column: customers.id, desc: false, nullable: false };
const name: SortKey = { column: customers.nameKey, desc: false, nullable: false };
const reference: SortKey = { column: customers.referenceKey, desc: false, nullable: true };

describe("rowsAfter()", () => {
  it("is one row comparison when every key is non-null and goes the same way", () => {
    const query = render(
      [name, id],
      ["o'brien; drop table customers", "01ARZ3NDEKTSV4RRFFQ69G5FAV"],
    );
    expect(query.sql).toBe('("customers"."name_key", "customers"."id") > ($1, $2)');
    expect(query.params).toEqual(["o'brien; drop table customers", "01ARZ3NDEKTSV4RRFFQ69G5FAV"]);
    const desc = render(
      [
        { ...name, desc: true },
        { ...id, desc: true },
      ],
      ["a", "b"],
    );
    expect(desc.sql).toContain(") < (");
  });

  it("places nulls last ascending: after a value come greater values and all nulls", () => {
    const query = render([reference, id], ["crm-1", "X"]);
    expect(query.sql).toBe(
      '(("customers"."reference_key" > $1 or "customers"."reference_key" is null) or ("customers"."reference_key" = $2 and "customers"."id" > $3))',
    );
  });

  it("after a null ascending, only later ids among the nulls remain", () => {
    expect(render([reference, id], [null, "X"]).sql).toBe(
      '("customers"."reference_key" is null and "customers"."id" > $1)',
    );
  });

  it("places nulls first descending: after a null come every value", () => {
    expect(render([{ ...reference, desc: true }, id], [null, "X"]).sql).toBe(
      '("customers"."reference_key" is not null or ("customers"."reference_key" is null and "customers"."id" > $1))',
    );
  });

  it("refuses values that do not match the keys", () => {
    expect(() => rowsAfter([name, id], ["a"])).toThrow();
  });
});

describe("orderByKeys()", () => {
  it("spells out where nulls go", () => {
    const query = dialect.sqlToQuery(orderByKeys([{ ...reference, desc: true }, id])[0] as never);
    expect(query.sql).toBe('"customers"."reference_key" desc nulls first');
  });
});

describe("escapeLike()", () => {
  it("escapes %, _ and backslash", () => {
    expect(escapeLike("50%_a\\b")).toBe("50\\%\\_a\\\\b");
  });
});
