import { describe, expect, it } from "vitest";
import { filterFields as serverFields } from "../../src/filter/ast.js";
import { parseFilterExpression } from "../../src/filter/parser.js";
import {
  type Criterion,
  composeFilter,
  criterionText,
  filterFields,
  operators,
} from "../../ui/src/filter-builder.js";

// The page's advanced-filter builder writes filters the service must read as the operator
// meant them: checked against the service's own parser.

const parse = (c: Criterion) => parseFilterExpression(criterionText(c) ?? "");

describe("the page's filter builder", () => {
  it("offers exactly the fields the service filters on", () => {
    expect(filterFields.map((f) => f.name).sort()).toEqual([...serverFields].sort());
  });

  it.each([
    ["contains", { kind: "text_match", field: "name", match: "contains", value: "acme" }],
    ["equals", { kind: "text_match", field: "name", match: "equals", value: "acme" }],
    ["starts_with", { kind: "text_match", field: "name", match: "prefix", value: "acme" }],
    ["ends_with", { kind: "text_match", field: "name", match: "suffix", value: "acme" }],
  ])("text %s", (op, expected) => {
    expect(parse({ field: "name", op, value: "  Acme " })).toEqual(expected);
  });

  it("negates, and tests for a value or none", () => {
    expect(parse({ field: "reference_number", op: "not_equals", value: "x" })).toEqual({
      kind: "not",
      operand: { kind: "text_match", field: "reference_number", match: "equals", value: "x" },
    });
    expect(criterionText({ field: "reference_number", op: "empty", value: "" })).toBe(
      'reference_number = ""',
    );
    expect(criterionText({ field: "reference_number", op: "not_empty", value: "" })).toBe(
      'reference_number != ""',
    );
  });

  it("keeps quotes, backslashes and stars in a value literal", () => {
    const value = 'say "hi" \\ *star*';
    expect(parse({ field: "description", op: "contains", value })).toEqual({
      kind: "text_match",
      field: "description",
      match: "contains",
      value: 'say "hi" \\ *star*',
    });
    expect(parse({ field: "name", op: "starts_with", value: "a*" })).toMatchObject({
      match: "prefix",
      value: "a*",
    });
  });

  it("writes numbers unquoted and times as RFC 3339 in UTC", () => {
    for (const { op } of operators.number) {
      expect(parse({ field: "service_instance_count", op, value: "3" })).toMatchObject({
        kind: "number",
        value: 3,
      });
    }
    const local = "2026-03-01T10:30";
    expect(criterionText({ field: "create_time", op: ">=", value: local })).toBe(
      `create_time >= "${new Date(local).toISOString()}"`,
    );
    expect(parse({ field: "create_time", op: "<", value: local })).toMatchObject({ kind: "time" });
  });

  it("leaves out criteria still missing a value, and joins the rest with AND", () => {
    expect(criterionText({ field: "name", op: "contains", value: " " })).toBeUndefined();
    expect(criterionText({ field: "create_time", op: ">=", value: "" })).toBeUndefined();
    expect(
      composeFilter([
        { field: "name", op: "starts_with", value: "acme" },
        { field: "description", op: "contains", value: "" },
        { field: "service_instance_count", op: ">", value: "0" },
      ]),
    ).toBe('name = "acme*" AND service_instance_count > 0');
  });
});
