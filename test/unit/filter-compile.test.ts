import { PgDialect } from "drizzle-orm/pg-core";
import { describe, expect, it } from "vitest";
import type { FieldViolation } from "../../src/errors.js";
import { compileFilter, escapeLike } from "../../src/filter/compile.js";
import { parseFilter } from "../../src/filter/filter.js";
import { filterColumns } from "../../src/store/customers.js";

const dialect = new PgDialect();
const columns = filterColumns;

function compile(text: string) {
  const violations: FieldViolation[] = [];
  const parsed = parseFilter(text, "filter", violations);
  if (!parsed?.expr) throw new Error(violations[0]?.description ?? "empty");
  const query = dialect.sqlToQuery(compileFilter(parsed.expr, columns));
  // Easier to read without the table prefix.
  return { sql: query.sql.replaceAll('"customers".', ""), params: query.params };
}

describe("filter compiler", () => {
  it("binds every value as a parameter", () => {
    expect(compile(`name = "x'; drop table customers; --"`)).toEqual({
      sql: '"name_key" = $1',
      params: ["x'; drop table customers; --"],
    });
  });

  it("escapes LIKE metacharacters in values", () => {
    expect(escapeLike("50%_a\\b")).toBe("50\\%\\_a\\\\b");
    expect(compile('name = "50%_*"')).toEqual({
      sql: '"name_key" like $1',
      params: ["50\\%\\_%"],
    });
  });

  it("finds substrings, suffixes and descriptions through the search text's trigrams", () => {
    expect(compile('name : "Net"')).toEqual({
      sql: '("search_text" like $1 and "name_key" like $2)',
      params: ["%net%", "%net%"],
    });
    expect(compile('name = "*net"').params).toEqual(["%net%", "%net"]);
    expect(compile('description = "fiber*"').sql).toBe(
      '("search_text" like $1 and "description_key" like $2)',
    );
  });

  it("handles a missing reference number as the empty string", () => {
    expect(compile('reference_number = ""').sql).toBe('"reference_key" is null');
    expect(compile('reference_number = "*"').sql).toBe('"reference_key" is not null');
    expect(compile('reference_number < "b"').sql).toBe(`coalesce("reference_key", '') < $1`);
    // NOT stays two-valued: a customer without a reference is "not equal to x".
    expect(compile('reference_number != "x"').sql).toBe('(("reference_key" = $1) is not true)');
  });

  it("compares ids in upper case and refuses non-ASCII values outright", () => {
    expect(compile('id = "01arz3ndektsv4rrffq69g5fav"').params).toEqual([
      "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    ]);
    expect(compile('id = "ß"').sql).toBe("false");
    expect(compile('id > "01a"').sql).toBe('lower("id") > $1');
  });

  it("compares numbers and microsecond timestamps as typed parameters", () => {
    expect(compile("service_instance_count >= 2")).toEqual({
      sql: '"service_instance_count" >= $1',
      params: [2],
    });
    expect(compile('create_time < "2024-01-31T09:30:00.1234567+02:00"')).toEqual({
      sql: '"create_time" < $1::timestamptz',
      params: ["2024-01-31T09:30:00.123456+02:00"],
    });
  });

  it("composes AND, OR and NOT with search terms", () => {
    expect(compile("a OR b -c")).toEqual({
      sql: '(("search_text" like $1 or "search_text" like $2) and (("search_text" like $3) is not true))',
      params: ["%a%", "%b%", "%c%"],
    });
  });
});

/** A small, seeded PRNG so that a failure can be replayed. */
function mulberry32(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Pieces of the grammar, hostile text and a marker that must never reach the SQL text.
const pieces = [
  "name",
  "id",
  "reference_number",
  "description",
  "service_instance_count",
  "create_time",
  "update_time",
  "nmae",
  "=",
  "!=",
  "<",
  "<=",
  ">",
  ">=",
  ":",
  "!",
  "(",
  ")",
  "AND",
  "OR",
  "NOT",
  "-",
  "*",
  '"',
  "'",
  "\\",
  '"Zq9x"',
  "'Zq9x*'",
  "Zq9x",
  "42",
  "-7",
  "99999999999",
  '"2024-01-31T09:30:00Z"',
  "'2024-13-01T00:00:00Z'",
  "'; drop table customers; --",
  "%",
  "_",
  "\u202e",
  "\u0000",
  "\u0007",
  "\ud800",
  "😀",
  "é",
  " ",
  " ",
  "\t",
  "\n",
  "$1",
  "::",
  "/*",
];

describe("filter fuzzing", () => {
  it("never throws anything but a violation on filter, and never puts input into SQL", () => {
    const random = mulberry32(20261125);
    let parsed = 0;
    for (let i = 0; i < 20_000; i++) {
      const length = 1 + Math.floor(random() * 24);
      let text = "";
      for (let j = 0; j < length; j++) {
        text +=
          random() < 0.85
            ? pieces[Math.floor(random() * pieces.length)]
            : String.fromCodePoint(Math.floor(random() * 0x3000));
        if (random() < 0.5) text += " ";
      }
      const violations: FieldViolation[] = [];
      const result = parseFilter(text, "filter", violations);
      if (!result) {
        expect(violations).toHaveLength(1);
        expect(violations[0]?.field).toBe("filter");
        expect(violations[0]?.description).toMatch(/at \d+|NUL|UTF-8|at most/);
        continue;
      }
      parsed++;
      if (!result.expr) continue;
      const query = dialect.sqlToQuery(compileFilter(result.expr, columns));
      expect(query.sql.toLowerCase()).not.toContain("zq9x");
      expect(query.sql).not.toMatch(/drop|--|\/\*|;/);
      // The only literal in generated SQL is coalesce's empty string.
      expect(query.sql.replaceAll("''", "")).not.toContain("'");
    }
    // The generator must reach the compiler often enough to mean something.
    expect(parsed).toBeGreaterThan(1_000);
  });
});
