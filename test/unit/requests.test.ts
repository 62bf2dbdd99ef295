import { describe, expect, it } from "vitest";
import { DomainError, type FieldViolation } from "../../src/errors.js";
import { cleanPageSize, cleanRequestId, resolveUpdateMask } from "../../src/service/requests.js";

describe("cleanPageSize()", () => {
  it("maps 0 to 50, caps at 1000 and rejects negatives", () => {
    const violations: FieldViolation[] = [];
    expect(cleanPageSize(0, violations)).toBe(50);
    expect(cleanPageSize(7, violations)).toBe(7);
    expect(cleanPageSize(2_147_483_647, violations)).toBe(1000);
    expect(violations).toEqual([]);
    cleanPageSize(-1, violations);
    expect(violations).toEqual([{ field: "page_size", description: "must not be negative" }]);
  });
});

describe("cleanRequestId()", () => {
  it("accepts 1–64 printable ASCII characters and never trims", () => {
    const violations: FieldViolation[] = [];
    expect(cleanRequestId("", violations)).toBeUndefined();
    expect(cleanRequestId(" id with spaces ", violations)).toBe(" id with spaces ");
    expect(cleanRequestId("x".repeat(64), violations)).toHaveLength(64);
    expect(violations).toEqual([]);
    for (const bad of ["x".repeat(65), "tab\there", "é"]) cleanRequestId(bad, violations);
    expect(violations).toHaveLength(3);
  });
});

describe("resolveUpdateMask()", () => {
  const rule = {
    mutable: ["name", "description"] as const,
    ignored: ["id", "create_time"],
    populated: (field: "name" | "description") => field === "name",
  };

  it("takes the populated fields when there is no mask", () => {
    expect(resolveUpdateMask(undefined, rule)).toEqual(new Set(["name"]));
    expect(resolveUpdateMask([], rule)).toEqual(new Set(["name"]));
  });

  it("takes every mutable field for *", () => {
    expect(resolveUpdateMask(["*"], rule)).toEqual(new Set(["name", "description"]));
  });

  it("ignores output-only paths and rejects unknown or nested ones", () => {
    expect(resolveUpdateMask(["description", "create_time"], rule)).toEqual(
      new Set(["description"]),
    );
    for (const path of ["nmae", "name.first", "contacts[0].email"]) {
      expect(() => resolveUpdateMask([path], rule)).toThrow(DomainError);
    }
  });
});
