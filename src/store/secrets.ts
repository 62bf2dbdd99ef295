import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Database } from "./db.js";
import { serverSecrets } from "./schema.js";

/**
 * The secret called `name`, created at random (32 bytes) on first use. Kept in the database so
 * that every replica, and every restart, shares it.
 */
export async function loadOrCreateSecret(db: Database, name: string): Promise<Buffer> {
  await db
    .insert(serverSecrets)
    .values({ name, value: randomBytes(32).toString("base64") })
    .onConflictDoNothing();
  const [row] = await db.select().from(serverSecrets).where(eq(serverSecrets.name, name));
  if (!row) throw new Error(`secret ${name} could not be stored`);
  return Buffer.from(row.value, "base64");
}
