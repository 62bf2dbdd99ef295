import { describe, expect, it } from "vitest";
import { cleanId, newUlid } from "../../src/domain/ids.js";
import type { FieldViolation } from "../../src/errors.js";

describe("newUlid()", () => {
  it("encodes the time in the first ten characters, so later ids sort after earlier ones", () => {
    const early = newUlid(Date.UTC(2020, 0, 1));
    const late = newUlid(Date.UTC(2030, 0, 1));
    expect(early).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    expect(early.slice(0, 10) < late.slice(0, 10)).toBe(true);
    expect(newUlid(0).slice(0, 10)).toBe("0000000000");
  });

  it("does not repeat", () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newUlid(1)));
    expect(ids.size).toBe(10_000);
  });
});

describe("cleanId()", () => {
  const check = (raw: string) => {
    const violations: FieldViolation[] = [];
    return { id: cleanId(raw, "id", violations), violations };
  };

  it("accepts any letter case and returns upper case", () => {
    expect(check("01arz3ndektsv4rrffq69g5fav").id).toBe("01ARZ3NDEKTSV4RRFFQ69G5FAV");
  });

  it.each([
    "",
    "01ARZ3NDEKTSV4RRFFQ69G5FA",
    "01ARZ3NDEKTSV4RRFFQ69G5FAVV",
    "81ARZ3NDEKTSV4RRFFQ69G5FAV",
    "01ARZ3NDEKTSV4RRFFQ69G5FAU",
    "01ARZ3NDEKTSV4RRFFQ69G5FA%",
    "customers/01ARZ3NDEKTSV4R",
  ])("rejects %j", (raw) => {
    expect(check(raw).violations).toHaveLength(1);
  });
});
