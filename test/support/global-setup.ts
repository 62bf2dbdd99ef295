import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import type { TestProject } from "vitest/node";
import { type EmbeddedDatabase, startEmbeddedPostgres } from "../../src/store/embedded-postgres.js";
import { migrateDatabase } from "../../src/store/migrate.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** A URL of the server's maintenance database, for creating test databases. */
    adminUrl: string;
    /** A migrated database that each test file clones. */
    templateDatabase: string;
  }
}

/** `url` with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * Starts PostgreSQL once for the whole run (embedded, or the server at TEST_DATABASE_URL),
 * migrates a template database, and hands its name to the test files, which clone it.
 */
export default async function setup(project: TestProject) {
  // Process tests run the compiled server, as npm start does: compile what changed.
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
    cwd: path.resolve(import.meta.dirname, "../.."),
    stdio: "inherit",
  });
  let embedded: EmbeddedDatabase | undefined;
  let scratch: string | undefined;
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    scratch = mkdtempSync(path.join(tmpdir(), "customer-inventory-test-"));
    embedded = await startEmbeddedPostgres({
      dataDir: scratch,
      database: "postgres",
      persistent: false,
      unsafeFast: true,
    });
    adminUrl = embedded.adminUrl;
  }
  const templateDatabase = `ci_template_${process.pid}_${Date.now()}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${templateDatabase}`);
  await migrateDatabase(withDatabase(adminUrl, templateDatabase));
  project.provide("adminUrl", adminUrl);
  project.provide("templateDatabase", templateDatabase);

  return async () => {
    await admin.unsafe(`drop database if exists ${templateDatabase} with (force)`);
    await admin.end();
    await embedded?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  };
}
