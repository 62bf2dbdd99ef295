import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";

/**
 * The committed drizzle-kit migrations: `drizzle/` of this package, found from this file
 * whether it runs as source (src/store/) or compiled (dist/src/store/).
 */
export function packageMigrationsFolder(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("the package's drizzle/ folder was not found");
    dir = parent;
  }
  return path.join(dir, "drizzle");
}

// Any constant works; it only has to be the same in every replica of this service.
const MIGRATION_LOCK_KEY = "4242170301";

/**
 * Applies pending migrations. Replicas starting together serialize on a session-level
 * advisory lock, held on the one connection of a dedicated client (drizzle's migrator
 * takes no lock of its own), so each migration runs exactly once.
 */
export async function migrateDatabase(
  url: string,
  options: { migrationsFolder?: string; connectTimeoutSeconds?: number } = {},
): Promise<void> {
  const migrationsFolder = options.migrationsFolder ?? packageMigrationsFolder();
  const client = postgres(url, {
    max: 1,
    onnotice: () => {},
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    fetch_types: false, // as in db.ts: no arrays, and a failed fetch goes unhandled
  });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_KEY}::bigint)`;
    try {
      await migrate(drizzle(client), { migrationsFolder });
    } finally {
      await client`select pg_advisory_unlock(${MIGRATION_LOCK_KEY}::bigint)`;
    }
  } finally {
    await client.end({ timeout: 5 });
  }
}
