import { defineConfig } from "drizzle-kit";

// Only `drizzle-kit generate` uses this: it needs no database. Migrations are applied by the
// service itself at start (src/store/migrate.ts), under an advisory lock.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/store/schema.ts",
  out: "./drizzle",
});
