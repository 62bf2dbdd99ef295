import { describe, expect, it } from "vitest";
import type { FieldViolation } from "../../src/errors.js";
import { parseOrderBy } from "../../src/filter/order-by.js";

const parse = (text: string) => {
  const violations: FieldViolation[] = [];
  return { keys: parseOrderBy(text, "order_by", violations), violations };
};

describe("parseOrderBy()", () => {
  it("defaults to name, then id", () => {
    expect(parse("  ").keys).toEqual([
      { field: "name", desc: false },
      { field: "id", desc: false },
    ]);
  });

  it("reads directions and ignores extra white space", () => {
    expect(parse(" name desc ,create_time ").keys).toEqual([
      { field: "name", desc: true },
      { field: "create_time", desc: false },
      { field: "id", desc: false },
    ]);
  });

  it("does not append id when it is already a key", () => {
    expect(parse("id desc, name").keys).toEqual([
      { field: "id", desc: true },
      { field: "name", desc: false },
    ]);
  });

  it.each([
    ["unknown field", "colour"],
    ["bad direction", "name up"],
    ["trailing comma", "name,"],
    ["duplicate", "name, name desc"],
    ["upper-case keyword", "name DESC"],
    ["too long", `name${" ".repeat(300)}`],
  ])("rejects a %s", (_, text) => {
    expect(parse(text).violations).toHaveLength(1);
  });
});
