import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";

/** The committed drizzle-kit migrations. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../drizzle", import.meta.url));

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
  const migrationsFolder = options.migrationsFolder ?? MIGRATIONS_FOLDER;
  const client = postgres(url, {
    max: 1,
    onnotice: () => {},
    connect_timeout: options.connectTimeoutSeconds ?? 10,
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
