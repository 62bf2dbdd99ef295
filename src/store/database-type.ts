import type { PostgresJsDatabase } from "drizzle-orm/postgres-js";
import type * as schema from "./schema.js";

/** The service's drizzle database (its own file, so that what db.ts builds on can name it). */
export type Database = PostgresJsDatabase<typeof schema>;
