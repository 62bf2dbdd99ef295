import { ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { DomainError, type FieldViolation } from "../../src/errors.js";
import {
  checkRequest,
  cleanPageSize,
  cleanRequestId,
  resolveUpdateMask,
} from "../../src/service/requests.js";

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

describe("checkRequest()", () => {
  it("returns the clean values when every check passes", () => {
    const clean = checkRequest((check) => ({
      id: check.id("01arz3ndektsv4rrffq69g5fav", "id"),
      name: check.text("  Acme  ", { field: "customer.name", min: 1, max: 100 }),
      limit: check.pageSize(0),
      requestId: check.requestId(""),
    }));
    expect(clean).toEqual({
      id: "01ARZ3NDEKTSV4RRFFQ69G5FAV",
      name: "Acme",
      limit: 50,
      requestId: undefined,
    });
  });

  it("reports every bad field at once, as one INVALID_ARGUMENT", () => {
    let thrown: unknown;
    try {
      checkRequest((check) => {
        check.violations.push({ field: "custom", description: "is wrong" });
        return {
          id: check.id("nope", "id"),
          name: check.text("", { field: "customer.name", min: 1, max: 100 }),
          limit: check.pageSize(-1),
          requestId: check.requestId("\u0001"),
        };
      });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(DomainError);
    expect(thrown).not.toBeInstanceOf(ConnectError);
    const { kind, details } = thrown as DomainError;
    expect(kind).toBe("invalid_argument");
    expect(details.fieldViolations?.map((v) => v.field)).toEqual([
      "custom",
      "id",
      "customer.name",
      "page_size",
      "request_id",
    ]);
  });
});
