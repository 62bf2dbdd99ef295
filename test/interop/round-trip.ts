import { expect } from "vitest";

/**
 * What the Go and Java clients print after their round trip (test/interop/go/main.go,
 * test/interop/java/JavaClient.java): three customers created, the first read back, a list
 * read two at a time in name order descending, a delete refused because of an instance, a
 * create refused for a blank name, and the delete once the instance is gone.
 */
export function expectRoundTrip(
  seen: Record<string, unknown> & { instance?: string },
  expected: {
    /** The names the client gave its customers, in the order it created them. */
    names: [string, string, string];
    /** How the client's library spells FAILED_PRECONDITION and INVALID_ARGUMENT. */
    codes: { failedPrecondition: string; invalidArgument: string };
  },
) {
  const [first, second, third] = expected.names;
  expect(seen.got).toBe(first);
  expect(seen.listed).toEqual([third, second, first]);
  expect(seen.pages).toBe(2);
  expect(seen.total).toBe(3);
  expect(seen.refused).toEqual({
    code: expected.codes.failedPrecondition,
    reason: "CUSTOMER_HAS_SERVICE_INSTANCES",
    domain: "customerinventory.v1",
    subjects: [seen.instance],
    fields: [],
  });
  expect(seen.invalid).toEqual({
    code: expected.codes.invalidArgument,
    reason: "INVALID_ARGUMENT",
    domain: "customerinventory.v1",
    subjects: [],
    fields: ["customer.name"],
  });
  expect(seen.deleted).toBe(true);
}
