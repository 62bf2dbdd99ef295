import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/errors.js";
import { createPageTokenCodec } from "../../src/service/page-token.js";

const scope = { rpc: "ListCustomers", query: ["", "acme", "name", ""] };

function reason(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError)
      return `${err.reason}:${err.details.fieldViolations?.[0]?.field}`;
    throw err;
  }
  return "no error";
}

describe("createPageTokenCodec()", () => {
  const codec = createPageTokenCodec({ secret: randomBytes(32) });

  it("round-trips a cursor of strings, numbers and nulls in a URL-safe token", () => {
    const token = codec.encode(scope, ["acme", null, 3, "01ARZ3NDEKTSV4RRFFQ69G5FAV"]);
    expect(token).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(codec.decode(token, scope)).toEqual(["acme", null, 3, "01ARZ3NDEKTSV4RRFFQ69G5FAV"]);
  });

  it("treats an empty token as the first page", () => {
    expect(codec.decode("", scope)).toBeUndefined();
  });

  it("refuses a token bound to another query or RPC", () => {
    const token = codec.encode(scope, ["a"]);
    expect(reason(() => codec.decode(token, { ...scope, query: ["", "acm", "name", ""] }))).toBe(
      "INVALID_PAGE_TOKEN:page_token",
    );
    expect(reason(() => codec.decode(token, { ...scope, rpc: "ListSavedFilters" }))).toBe(
      "INVALID_PAGE_TOKEN:page_token",
    );
  });

  it("refuses tokens signed with another key, edited, or oversized", () => {
    const foreign = createPageTokenCodec({ secret: randomBytes(32) }).encode(scope, ["a"]);
    const token = codec.encode(scope, ["a"]);
    const edited = `${token.slice(0, 5)}${token[5] === "A" ? "B" : "A"}${token.slice(6)}`;
    for (const bad of [foreign, edited, "a.b", "....", "x".repeat(5000)]) {
      expect(reason(() => codec.decode(bad, scope))).toBe("INVALID_PAGE_TOKEN:page_token");
    }
  });

  it("refuses an expired token", () => {
    let now = 1_000_000;
    const clock = createPageTokenCodec({ secret: randomBytes(32), ttlMs: 1000, now: () => now });
    const token = clock.encode(scope, ["a"]);
    now += 500;
    expect(clock.decode(token, scope)).toEqual(["a"]);
    now += 2000;
    expect(reason(() => clock.decode(token, scope))).toBe("INVALID_PAGE_TOKEN:page_token");
  });
});
