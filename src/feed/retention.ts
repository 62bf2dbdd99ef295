import type { ChangeStore } from "../store/changes.js";

const DAY_MS = 24 * 3600 * 1000;

/**
 * Deletes the changes older than `retentionDays`, `batch` rows per statement with a pause
 * between statements: each holds its rows' locks only briefly and never the table's.
 * Returns how many were deleted. Cursors before the purged changes expire (CURSOR_EXPIRED).
 */
export async function purgeExpiredChanges(deps: {
  changes: Pick<ChangeStore, "purge">;
  retentionDays: number;
  now?: () => number;
  batch?: number;
  pauseMs?: number;
  /** Stops between batches once aborted (shutdown). */
  signal?: AbortSignal;
}): Promise<number> {
  const batch = deps.batch ?? 1000;
  const before = new Date((deps.now ?? Date.now)() - deps.retentionDays * DAY_MS);
  let total = 0;
  for (;;) {
    const purged = await deps.changes.purge(before, batch);
    total += purged;
    if (purged < batch || deps.signal?.aborted) return total;
    await new Promise((resolve) => setTimeout(resolve, deps.pauseMs ?? 20));
  }
}
