import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

// postgres.js 3.4.9 defects scripts/patch-postgres.mjs mends at install, checked on the bare
// driver: a transaction's connection must never carry anyone else's statements, and a
// cancelled statement must never strand its transaction.

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 1 });
});
afterAll(() => database.drop());

/** Statements sent while a transaction sleeps: each must run on its own, not inside it. */
async function othersDuringTransaction(options: { max_pipeline: number; prepare?: boolean }) {
  const sql = postgres(database.url, { max: 1, onnotice: () => {}, ...options });
  try {
    const first = sql`select 1`;
    const transaction = sql.begin(async (tx) => {
      await tx`select set_config('application_name', 'inside', true)`;
      await tx`select pg_sleep(0.2)`;
      return "committed";
    });
    const others = Array.from(
      { length: 5 },
      () => sql`select current_setting('application_name') = 'inside' as inside`,
    );
    const results = await Promise.allSettled([first, transaction, ...others]);
    return results.map((r) =>
      r.status === "rejected"
        ? String((r.reason as Error).message)
        : r.value === "committed"
          ? "committed"
          : (r.value as unknown as { inside?: boolean }[])[0]?.inside
            ? "ran inside the transaction"
            : "ok",
    );
  } finally {
    await sql.end({ timeout: 1 });
  }
}

describe("postgres.js as patched at install", () => {
  // Unpatched, sql.begin() with max_pipeline 0 never reserves its connection and fails
  // (porsager/postgres#1210); at the pipeline boundary of the default the same skip lets
  // other statements into the transaction (#1189), which this test does not reach.
  it("keeps a transaction's connection to itself with no pipelining (as behind PgBouncer)", async () => {
    expect(await othersDuringTransaction({ max_pipeline: 0, prepare: false })).toEqual([
      "ok",
      "committed",
      "ok",
      "ok",
      "ok",
      "ok",
      "ok",
    ]);
  });

  it("settles a transaction whose statement is cancelled before it was sent", async () => {
    const options = { max: 1, max_pipeline: 0, prepare: false };
    const sql = postgres(database.url, options);
    try {
      const transaction = sql
        .begin(async (tx) => {
          const running = tx`select pg_sleep(0.1)`;
          const waiting = tx`select 2`; // queued behind the first, not sent yet
          setImmediate(() => waiting.cancel());
          await Promise.all([running, waiting]);
        })
        .then(
          () => "committed",
          (err: { code?: string }) => `rejected ${err.code}`,
        );
      const stranded = new Promise((r) => setTimeout(() => r("still waiting after 3 s"), 3_000));
      expect(await Promise.race([transaction, stranded])).toBe("rejected 57014");
      // And the connection is free again.
      expect((await sql`select 1 as one`)[0]?.one).toBe(1);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});
