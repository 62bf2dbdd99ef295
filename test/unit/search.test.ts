import { describe, expect, it } from "vitest";
import type { FieldViolation } from "../../src/errors.js";
import { parseSearch } from "../../src/filter/search.js";

const parse = (text: string) => {
  const violations: FieldViolation[] = [];
  return { terms: parseSearch(text, "search", violations), violations };
};

describe("parseSearch()", () => {
  it("splits on any white space and normalizes each term", () => {
    expect(parse(" ACME\u00a0Zürich\tCAFE\u0301 ").terms).toEqual(["acme", "zürich", "café"]);
  });

  it("keeps operators and quotes as literal characters", () => {
    expect(parse('"a b" % _ * \\').terms).toEqual(['"a', 'b"', "%", "_", "*", "\\"]);
  });

  it("accepts 200 characters and rejects 201 or a NUL", () => {
    expect(parse("é".repeat(200)).terms).toHaveLength(1);
    expect(parse("é".repeat(201)).violations).toHaveLength(1);
    expect(parse("a\u0000b").violations).toHaveLength(1);
  });
});
