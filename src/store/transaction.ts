import type { Database, Transaction } from "./db.js";

class DryRunRollback<T> extends Error {
  constructor(readonly result: T) {
    super("dry run rolled back");
  }
}

/**
 * Runs `work` in a transaction. With `dryRun` every statement runs (so constraints are
 * checked by the database itself) and then everything is rolled back; the result is
 * returned as if it had been committed. This is how validate_only runs every check.
 */
export async function transact<T>(
  db: Database,
  work: (tx: Transaction) => Promise<T>,
  options: { dryRun?: boolean } = {},
): Promise<T> {
  try {
    return await db.transaction(async (tx) => {
      const result = await work(tx);
      if (options.dryRun) throw new DryRunRollback(result);
      return result;
    });
  } catch (err) {
    if (err instanceof DryRunRollback) return err.result as T;
    throw err;
  }
}
