import { describe, expect, it } from "vitest";
import type { FieldViolation } from "../../src/errors.js";
import type { FilterExpr } from "../../src/filter/ast.js";
import { MAX_FILTER_LENGTH, parseFilter } from "../../src/filter/filter.js";

/** Parses or fails the test with the violation. */
function parse(text: string): FilterExpr | undefined {
  const violations: FieldViolation[] = [];
  const result = parseFilter(text, "filter", violations);
  if (!result) throw new Error(`unexpected violation: ${violations[0]?.description}`);
  return result.expr;
}

/** The violation's description for text that must not parse. */
function error(text: string): string {
  const violations: FieldViolation[] = [];
  const result = parseFilter(text, "filter", violations);
  expect(result, `"${text}" should not parse`).toBeUndefined();
  expect(violations).toHaveLength(1);
  expect(violations[0]?.field).toBe("filter");
  return violations[0]?.description ?? "";
}

const name = (value: string, match = "equals") => ({
  kind: "text_match",
  field: "name",
  match,
  value,
});
const term = (text: string) => ({ kind: "term", text });

describe("filter parser: productions", () => {
  it("reads an empty or blank filter as no condition", () => {
    expect(parse("")).toBeUndefined();
    expect(parse(" \t\n ")).toBeUndefined();
  });

  it("reads each comparator on a text field, normalizing the value", () => {
    expect(parse('name = "ACME Corp"')).toEqual(name("acme corp"));
    expect(parse("name=Acme")).toEqual(name("acme"));
    expect(parse('name != "Acme"')).toEqual({ kind: "not", operand: name("acme") });
    expect(parse('name : "Cafe\u0301"')).toEqual(name("café", "contains"));
    for (const op of ["<", "<=", ">", ">="]) {
      expect(parse(`reference_number ${op} 'CRM-5'`)).toEqual({
        kind: "text_order",
        field: "reference_number",
        op,
        value: "crm-5",
      });
    }
  });

  it("reads * at the ends of = and != values as wildcards, and \\* as a star", () => {
    expect(parse('name = "acme*"')).toEqual(name("acme", "prefix"));
    expect(parse('name = "*corp"')).toEqual(name("corp", "suffix"));
    expect(parse('name = "*net*"')).toEqual(name("net", "contains"));
    expect(parse("name = acme*")).toEqual(name("acme", "prefix"));
    expect(parse('name = "*"')).toEqual(name("", "present"));
    expect(parse("description:*")).toEqual({
      kind: "text_match",
      field: "description",
      match: "present",
      value: "",
    });
    expect(parse('name = "a*b"')).toEqual(name("a*b"));
    expect(parse('name = "acme\\*"')).toEqual(name("acme*"));
    expect(parse('name = "\\*acme"')).toEqual(name("*acme"));
    expect(parse('name != "x*"')).toEqual({ kind: "not", operand: name("x", "prefix") });
    // Only = and != know wildcards; elsewhere a star is a star.
    expect(parse('name : "a*"')).toEqual(name("a*", "contains"));
    // An escaped star is a literal everywhere, alone too: it never means "has a value".
    expect(parse('name : "\\*"')).toEqual(name("*", "contains"));
    expect(parse("name : '\\*'")).toEqual(name("*", "contains"));
    expect(parse('name = "\\*"')).toEqual(name("*"));
    expect(parse('name != "\\*"')).toEqual({ kind: "not", operand: name("*") });
    expect(parse('name : "*"')).toEqual(name("", "present"));
    expect(parse('name < "a*"')).toMatchObject({ kind: "text_order", value: "a*" });
  });

  it("resolves the escapes \\\" \\' \\\\ \\* in both quote styles", () => {
    expect(parse('name = "say \\"hi\\" \\\\ it\'s"')).toEqual(name('say "hi" \\ it\'s'));
    expect(parse("name = 'it\\'s \"x\"'")).toEqual(name('it\'s "x"'));
  });

  it("reads reference_number = \"\" as 'has none'", () => {
    expect(parse('reference_number = ""')).toEqual({
      kind: "text_match",
      field: "reference_number",
      match: "equals",
      value: "",
    });
  });

  it("reads integers, negative ones too, on service_instance_count", () => {
    expect(parse("service_instance_count >= 3")).toEqual({
      kind: "number",
      field: "service_instance_count",
      op: ">=",
      value: 3,
    });
    expect(parse("service_instance_count != -1")).toMatchObject({ op: "!=", value: -1 });
  });

  it("reads RFC 3339 timestamps with any offset, cut to microseconds", () => {
    expect(parse('create_time > "2024-01-31T09:30:00Z"')).toEqual({
      kind: "time",
      field: "create_time",
      op: ">",
      value: "2024-01-31T09:30:00.000000+00:00",
    });
    expect(parse("update_time <= '2024-02-29t23:59:59.1234567-05:30'")).toMatchObject({
      value: "2024-02-29T23:59:59.123456-05:30",
    });
  });

  it("reads a bare value as a search term, as `search` would", () => {
    expect(parse("Acme")).toEqual(term("acme"));
    expect(parse('"big corp"')).toEqual(term("big corp"));
    expect(parse("50%_off*")).toEqual(term("50%_off*"));
    expect(parse("name")).toEqual(term("name"));
  });

  it("reads juxtaposition and AND as conjunction", () => {
    const both = { kind: "and", operands: [term("a"), term("b")] };
    expect(parse("a b")).toEqual(both);
    expect(parse("a AND b")).toEqual(both);
    expect(parse("a   AND\nb")).toEqual(both);
  });

  it("binds OR tighter than AND and juxtaposition (AIP-160)", () => {
    expect(parse("a AND b OR c")).toEqual({
      kind: "and",
      operands: [term("a"), { kind: "or", operands: [term("b"), term("c")] }],
    });
    expect(parse("a OR b c")).toEqual({
      kind: "and",
      operands: [{ kind: "or", operands: [term("a"), term("b")] }, term("c")],
    });
    expect(parse("a OR b OR c")).toEqual({
      kind: "or",
      operands: [term("a"), term("b"), term("c")],
    });
  });

  it("groups with parentheses", () => {
    expect(parse("(a AND b) OR c")).toEqual({
      kind: "or",
      operands: [{ kind: "and", operands: [term("a"), term("b")] }, term("c")],
    });
    expect(parse("((a))")).toEqual(term("a"));
  });

  it("negates with NOT and -", () => {
    expect(parse("NOT a")).toEqual({ kind: "not", operand: term("a") });
    expect(parse("NOT(a OR b)")).toEqual({
      kind: "not",
      operand: { kind: "or", operands: [term("a"), term("b")] },
    });
    expect(parse("-a")).toEqual({ kind: "not", operand: term("a") });
    expect(parse('-name = "x"')).toEqual({ kind: "not", operand: name("x") });
    expect(parse('-(name = "x")')).toEqual({ kind: "not", operand: name("x") });
    expect(parse('NOT(name = "x")')).toEqual({ kind: "not", operand: name("x") });
    expect(parse("--a")).toEqual({ kind: "not", operand: { kind: "not", operand: term("a") } });
    expect(parse("a -b")).toEqual({
      kind: "and",
      operands: [term("a"), { kind: "not", operand: term("b") }],
    });
  });

  it("treats lower-case and, or, not as values (keywords are upper case)", () => {
    expect(parse("a and b")).toEqual({
      kind: "and",
      operands: [term("a"), term("and"), term("b")],
    });
  });

  it("keeps a - inside a word and a negative number as a value", () => {
    expect(parse("evpn-elan")).toEqual(term("evpn-elan"));
    expect(parse("name = -x")).toEqual(name("-x"));
  });

  it("accepts 20 nested levels", () => {
    expect(
      parse(`${"(".repeat(10)}${"NOT ".repeat(5)}${"-".repeat(5)}a${")".repeat(10)}`),
    ).toBeDefined();
  });
});

describe("filter parser: errors name the 1-based position", () => {
  it.each([
    ['nmae = "x"', 'unknown field "nmae" at 1, did you mean "name"?'],
    ['a AND Name = "x"', 'unknown field "Name" at 7, did you mean "name"?'],
    ['colour = "red"', 'unknown field "colour" at 1; fields are id, name'],
    ["pg_sleep(10)", 'unknown function "pg_sleep" at 1; no functions are supported'],
    [`name = x' OR '1'='1`, "expected white space or an operator at 9"],
    ['"a""b"', "expected white space or an operator at 4"],
    ["name =", 'expected a value after "=", found the end of the filter at 7'],
    ["name = )", 'expected a value after "=", found ")" at 8'],
    ["name = AND", 'expected a value after "=", found AND at 8'],
    ['"x" = name', 'a comparison needs a field name before "=", not a quoted string at 1'],
    ['= "x"', 'expected a comparison or a value, found "=" at 1'],
    ["(a", 'expected ")" to close the "(" at 1, found the end of the filter at 3'],
    ["a)", 'unexpected ")" with no "(" to close at 2'],
    ["a AND", "expected a comparison or a value, found the end of the filter at 6"],
    ["AND a", "expected a comparison or a value, found AND at 1"],
    ["a OR OR b", "expected a comparison or a value, found OR at 6"],
    ["NOT", "expected a comparison or a value, found the end of the filter at 4"],
    ['name = "abc', 'unterminated string (missing ") at 8'],
    ["name = 'abc\\", "unterminated string (missing ') at 8"],
    ['name = "a\\nb"', 'invalid escape "\\n" at 10; only'],
    ["name ! x", 'unexpected "!" at 6; use "!=" or NOT'],
    ["name == x", 'expected a value after "=", found "=" at 7'],
    [
      "service_instance_count = abc",
      '"service_instance_count" is compared with an unquoted integer, not "abc" at 26',
    ],
    ['service_instance_count = "3"', "not a quoted string at 26"],
    ["service_instance_count > 1.5", "unquoted integer"],
    ["service_instance_count > 99999999999", "integer 99999999999 is out of range at 26"],
    [
      "service_instance_count : 3",
      '":" cannot be used on "service_instance_count" (an integer) at 26',
    ],
    [
      'create_time : "2024-01-01T00:00:00Z"',
      '":" cannot be used on "create_time" (a timestamp) at 15',
    ],
    ["create_time > 2024", '"create_time" is compared with a quoted RFC 3339 timestamp'],
    ['create_time > "2024-01-01"', 'invalid timestamp "2024-01-01" at 15: expected RFC 3339'],
    ['create_time > "2023-02-29T00:00:00Z"', "invalid timestamp"],
    ['create_time > "2024-01-01T24:00:00Z"', "invalid timestamp"],
    ['create_time > "2024-01-01T00:00:00"', "invalid timestamp"],
    ['create_time > "2024-01-01T00:00:00+24:00"', "invalid timestamp"],
    ['create_time > "0000-01-01T00:00:00Z"', "invalid timestamp"],
    ["a \u0007 b", "control character U+0007 is not allowed at 3"],
    ['name = "\u202e"', "control character U+202E is not allowed at 9"],
  ])("%j", (text, message) => {
    expect(error(text)).toContain(message);
  });

  it("counts positions in code points, not UTF-16 units", () => {
    expect(error('"😀😀" AND nmae = 1')).toContain('unknown field "nmae" at 10');
  });

  it("refuses a 21st nesting level wherever it comes from", () => {
    expect(error(`${"(".repeat(21)}a${")".repeat(21)}`)).toContain(
      "nested more than 20 levels deep at 21",
    );
    expect(error(`${"NOT ".repeat(21)}a`)).toContain("at 81");
    expect(error(`${"-".repeat(21)}a`)).toContain("nested more than 20 levels deep at 21");
  });

  it("refuses more than 100 comparisons and terms", () => {
    expect(parse(Array(100).fill("a").join(" "))).toBeDefined();
    expect(error(Array(101).fill("a").join(" "))).toContain(
      "more than 100 comparisons and terms at 201",
    );
  });

  it("refuses text over the length limit, NUL and broken UTF-16 at their positions", () => {
    expect(parse(`"${"x".repeat(MAX_FILTER_LENGTH - 2)}"`)).toBeDefined();
    // The position is where the limit is crossed, counted in code points like every other.
    expect(error("x".repeat(MAX_FILTER_LENGTH + 1))).toBe(
      "must be at most 2000 characters (got 2001) at 2001",
    );
    expect(error(`name = "${"😀".repeat(2500)}"`)).toBe(
      "must be at most 2000 characters (got 2509) at 2001",
    );
    expect(error("a\u0000")).toBe("must not contain NUL characters at 2");
    expect(error("😀 a\ud800")).toBe("must be valid UTF-8 text at 4");
  });

  it("clips a long echoed value", () => {
    expect(error(`${"q".repeat(300)} = 1`)).toContain(`"${"q".repeat(40)}…"`);
  });
});
