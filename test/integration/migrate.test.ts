import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import postgres from "postgres";
import { describe, expect, inject, it } from "vitest";
import { migrateDatabase } from "../../src/store/migrate.js";
import { withDatabase } from "../support/global-setup.js";

describe("migrateDatabase()", () => {
  it("lets replicas that start together apply each migration exactly once", async () => {
    const adminUrl = inject("adminUrl");
    const name = `ci_migrate_${randomBytes(6).toString("hex")}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    const url = withDatabase(adminUrl, name);
    try {
      await Promise.all([migrateDatabase(url), migrateDatabase(url), migrateDatabase(url)]);
      await migrateDatabase(url);
      const db = postgres(url, { max: 1, onnotice: () => {} });
      try {
        const applied = await db`select count(*)::int as n from drizzle.__drizzle_migrations`;
        const journal = JSON.parse(readFileSync("drizzle/meta/_journal.json", "utf8")) as {
          entries: unknown[];
        };
        expect(applied[0]?.n).toBe(journal.entries.length);
        const tables = await db`
          select table_name from information_schema.tables
          where table_schema = 'public' order by table_name`;
        expect(tables.map((t) => t.table_name)).toEqual([
          "change_feed_state",
          "customer_changes",
          "customer_counts",
          "customers",
          "idempotency_records",
          "saved_filters",
          "server_secrets",
          "service_instances",
        ]);
        const fk = await db`
          select confdeltype from pg_constraint
          where conname = 'service_instances_customer_id_customers_id_fk'`;
        expect(fk[0]?.confdeltype).toBe("r"); // ON DELETE RESTRICT
      } finally {
        await db.end();
      }
    } finally {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });
});
