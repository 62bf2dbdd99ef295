import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { inject } from "vitest";
import { createDatabase, type DatabaseHandle, type DatabaseOptions } from "../../src/store/db.js";
import { withDatabase } from "./global-setup.js";

export interface TestDatabase extends DatabaseHandle {
  url: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own, cloned from the run's template. */
export async function createTestDatabase(
  options: {
    poolSize?: number;
    /** PostgreSQL statement_timeout and lock_timeout of the pool's connections. */
    statementTimeoutMs?: number;
    maxWaiting?: number;
    /** Rewrites the URL the pool connects to, e.g. to go through a proxy. */
    connectThrough?: (url: string) => string;
    /** Prepared statements (default true). */
    prepare?: boolean;
    tracing?: DatabaseOptions["tracing"];
  } = {},
): Promise<TestDatabase> {
  const adminUrl = inject("adminUrl");
  const template = inject("templateDatabase");
  if (!adminUrl || !template) {
    throw new Error("no test database: run the tests with vitest (globalSetup provides one)");
  }
  const name = `ci_test_${randomBytes(6).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    // Cloning needs the template to be idle; parallel files may briefly collide.
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.unsafe(`create database ${name} template ${template}`);
        break;
      } catch (err) {
        if (attempt >= 10) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  const handle = createDatabase({
    url: options.connectThrough ? options.connectThrough(url) : url,
    poolSize: options.poolSize ?? 10,
    statementTimeoutMs: options.statementTimeoutMs ?? 20_000,
    connectTimeoutSeconds: 10,
    maxWaiting: options.maxWaiting,
    prepare: options.prepare,
    tracing: options.tracing,
  });
  return {
    ...handle,
    url,
    async drop() {
      await handle.close();
      const dropper = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/** A new database with nothing in it (not migrated), and how to drop it. */
export async function createEmptyDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = inject("adminUrl");
  const name = `ci_empty_${randomBytes(6).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(adminUrl, name),
    async drop() {
      const dropper = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}
