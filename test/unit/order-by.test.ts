import { describe, expect, it } from "vitest";
import type { FieldViolation } from "../../src/errors.js";
import { parseOrderBy } from "../../src/filter/order-by.js";

const parse = (text: string) => {
  const violations: FieldViolation[] = [];
  return { keys: parseOrderBy(text, "order_by", violations), violations };
};

describe("parseOrderBy()", () => {
  it("defaults to name, which is unique and needs no tie-breaker", () => {
    expect(parse("  ").keys).toEqual([{ field: "name", desc: false }]);
  });

  it("reads directions, ignores extra white space and breaks ties by id", () => {
    expect(parse(" create_time desc ,service_instance_count ").keys).toEqual([
      { field: "create_time", desc: true },
      { field: "service_instance_count", desc: false },
      { field: "id", desc: false },
    ]);
  });

  it("drops keys after a unique one (name or id): they can never decide", () => {
    expect(parse("reference_number, name desc, create_time").keys).toEqual([
      { field: "reference_number", desc: false },
      { field: "name", desc: true },
    ]);
    expect(parse("id desc, name").keys).toEqual([{ field: "id", desc: true }]);
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
