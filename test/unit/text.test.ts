import { describe, expect, it } from "vitest";
import { cleanText, codePointLength, normalizeKey } from "../../src/domain/text.js";
import type { FieldViolation } from "../../src/errors.js";

const rule = { field: "customer.name", min: 1, max: 5 };

function clean(raw: string, r: Parameters<typeof cleanText>[1] = rule) {
  const violations: FieldViolation[] = [];
  return { value: cleanText(raw, r, violations), violations };
}

describe("normalizeKey()", () => {
  it("gives CAFÉ, café and cafe + combining acute one key", () => {
    expect(new Set(["CAFÉ", "café", "cafe\u0301"].map(normalizeKey))).toEqual(new Set(["café"]));
  });

  it("lower-cases beyond ASCII, independent of locale", () => {
    expect(normalizeKey("ÀΣΑΣ İSTANBUL")).toBe("àσας i̇stanbul");
  });
});

describe("cleanText()", () => {
  it("trims white space as JavaScript's trim() does, then checks the length", () => {
    expect(clean("\u00a0 abc \u2028\ufeff").value).toBe("abc");
    expect(clean("   ").violations).toEqual([
      { field: "customer.name", description: "is required" },
    ]);
  });

  it("counts code points, not UTF-16 units", () => {
    expect(codePointLength("😀😀")).toBe(2);
    expect(clean("😀😀😀😀😀").value).toBe("😀😀😀😀😀");
    expect(clean("😀😀😀😀😀😀").violations[0]?.description).toContain("at most 5");
  });

  it("rejects C0, DEL, C1 and bidi controls, and invalid UTF-16", () => {
    for (const bad of [
      "a\u0000",
      "a\u0009b",
      "a\u007f",
      "a\u009f",
      "a\u202a",
      "a\u2069",
      "a\ud800",
      "a\ufffd",
    ]) {
      expect(clean(bad).violations, JSON.stringify(bad)).toHaveLength(1);
    }
  });

  it("allows newline and tab inside multiline text only", () => {
    const multiline = { field: "customer.description", min: 0, max: 50, multiline: true };
    expect(clean("a\n\tb", multiline).value).toBe("a\n\tb");
    expect(clean("a\rb", multiline).violations).toHaveLength(1);
    expect(clean("a\nb").violations).toHaveLength(1);
  });
});
