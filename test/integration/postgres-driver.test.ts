import { sql as sqlOf } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../src/store/db.js";
import { transact } from "../../src/store/transaction.js";
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

describe("a write on a read-only connection that must reach the primary", () => {
  // What a pooled connection stranded on a standby looks like to the service: every write
  // fails with 25006. As patched, postgres.js retires such a connection once it is idle, and
  // the service's database layer (src/store/db.ts) tries the write again, once, on a new one.
  it("retires the connection and retries the write, as one statement and as a transaction", async () => {
    const url = `${database.url}${database.url.includes("?") ? "&" : "?"}target_session_attrs=primary`;
    const handle = createDatabase({
      url,
      poolSize: 1,
      statementTimeoutMs: 5_000,
      connectTimeoutSeconds: 5,
    });
    const backend = async () =>
      (await handle.db.execute<{ pid: number }>(sqlOf`select pg_backend_pid() as pid`))[0]?.pid;
    const readOnly = () =>
      handle.db.execute(sqlOf`set session characteristics as transaction read only`);
    try {
      await handle.db.execute(sqlOf`create table read_only_guard (n integer)`);
      await readOnly();
      const stranded = await backend();
      await handle.db.execute(sqlOf`insert into read_only_guard values (1)`);
      const afterStatement = await backend();
      expect(afterStatement).not.toBe(stranded);

      await readOnly();
      await transact(handle.db, async (tx) => {
        await tx.execute(sqlOf`insert into read_only_guard values (2)`);
      });
      expect(await backend()).not.toBe(afterStatement);
      const rows = await handle.db.execute<{ n: number }>(
        sqlOf`select n from read_only_guard order by n`,
      );
      expect(rows.map((r) => r.n)).toEqual([1, 2]);
    } finally {
      await handle.close(1);
    }
  });

  it("still fails a write the database refuses as read-only for a reason of its own", async () => {
    const handle = createDatabase({
      url: database.url,
      poolSize: 1,
      statementTimeoutMs: 5_000,
      connectTimeoutSeconds: 5,
    });
    try {
      await handle.db.execute(sqlOf`create table read_only_refused (n integer)`);
      const attempt = transact(handle.db, async (tx) => {
        await tx.execute(sqlOf`set transaction read only`);
        await tx.execute(sqlOf`insert into read_only_refused values (1)`);
      });
      await expect(attempt).rejects.toMatchObject({ cause: { code: "25006" } });
    } finally {
      await handle.close(1);
    }
  });
});
