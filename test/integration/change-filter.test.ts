import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { CustomerChange } from "../../src/domain/types.js";
import { changeMatcher } from "../../src/feed/change-filter.js";
import { changeFilterFields } from "../../src/filter/ast.js";
import { parseFilter } from "../../src/filter/filter.js";
import { createChangeStore } from "../../src/store/changes.js";
import { customerChanges } from "../../src/store/schema.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

// A watcher's filter is applied in memory (one feed reader serves every watcher), a list's in
// SQL: for any filter, both must select the same changes.

const kinds = [
  "CUSTOMER_CREATED",
  "CUSTOMER_UPDATED",
  "CUSTOMER_DELETED",
  "SERVICE_INSTANCE_CREATED",
];
const actors = ["alice", "Alice", "ÅSA", "åsa", "bob", "", "svc:crm-sync", "Zoë"];
const requestIds = ["req-1", "REQ-2", "abc*def", "", "x y"];
const customerIds = [
  "01ARZ3NDEKTSV4RRFFQ69G5FAV",
  "01BX5ZZKBKACTAV9WEVGEMMVRZ",
  "01M8RZC8JPHDY69XPECY1F2WP0",
];
const base = Date.parse("2026-11-20T00:00:00Z");

let database: TestDatabase;
const rows: CustomerChange[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  for (let i = 0; i < 80; i++) {
    rows.push({
      sequence: BigInt(i + 1),
      changeTime: new Date(base + i * 3_600_000 + (i % 7) * 1_234),
      kind: kinds[i % kinds.length] as CustomerChange["kind"],
      customerId: customerIds[i % customerIds.length] as string,
      actor: actors[i % actors.length] as string,
      requestId: requestIds[i % requestIds.length] as string,
      changedFields: [],
    });
  }
  await database.db.insert(customerChanges).values(
    rows.map((r) => ({
      sequence: r.sequence,
      changeTime: r.changeTime,
      kind: r.kind,
      customerId: r.customerId,
      actor: r.actor,
      actorKey: r.actor.normalize("NFC").toLowerCase(),
      requestId: r.requestId,
    })),
  );
});
afterAll(() => database?.drop());

const quoted = (v: string) => `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
const textValue = fc.oneof(
  fc.constantFrom(...actors, ...requestIds, ...kinds, ...customerIds, "*", "", "customer_*", "*ed"),
  fc.constantFrom("a", "A", "å", "e", "0", "-", "*li*", "01ARZ*", "\\*"),
);
const comparison = fc.oneof(
  fc
    .tuple(
      fc.constantFrom("kind", "actor", "request_id", "customer_id"),
      fc.constantFrom("=", "!=", "<", "<=", ">", ">=", ":"),
      textValue,
    )
    .map(([field, op, value]) => `${field} ${op} ${quoted(value)}`),
  fc
    .tuple(
      fc.constantFrom("=", "!=", "<", "<=", ">", ">="),
      fc.integer({ min: -5, max: 90 }),
      fc.constantFrom("Z", "+02:00", "-05:30"),
    )
    .map(([op, hours, zone]) => {
      const at = new Date(base + hours * 3_600_000).toISOString().replace("Z", "");
      const shifted = zone === "Z" ? `${at}Z` : `${at}${zone}`;
      return `change_time ${op} ${quoted(shifted)}`;
    }),
);
const filterText: fc.Arbitrary<string> = fc.letrec((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    comparison,
    fc.tuple(tie("expr"), tie("expr")).map(([a, b]) => `(${a} AND ${b})`),
    fc.tuple(tie("expr"), tie("expr")).map(([a, b]) => `(${a} OR ${b})`),
    tie("expr").map((a) => `NOT ${a}`),
  ),
})).expr as fc.Arbitrary<string>;

it("selects the same changes in memory as in SQL, for any filter and customer", async () => {
  const changes = createChangeStore({ db: database.db });
  await fc.assert(
    fc.asyncProperty(
      filterText,
      fc.option(fc.constantFrom(...customerIds), { nil: undefined }),
      async (text, customerId) => {
        const violations: { field: string; description: string }[] = [];
        const filter = parseFilter(text, "filter", violations, changeFilterFields)?.expr;
        expect(violations).toEqual([]);
        const inSql = await changes.list({ customerId, filter, limit: 1000 });
        const matches = changeMatcher({ customerId, filter });
        const inMemory = rows
          .filter(matches)
          .map((r) => r.sequence)
          .reverse();
        expect(
          inSql.items.map((c) => c.sequence),
          text,
        ).toEqual(inMemory);
      },
    ),
    { numRuns: 300 },
  );
});
