import { and, eq, lt } from "drizzle-orm";
import type { IdempotencyKey } from "../domain/types.js";
import { DomainError, invalidField } from "../errors.js";
import type { Database, Executor, Transaction } from "./db.js";
import { violatedConstraint } from "./driver-errors.js";
import { idempotencyRecords } from "./schema.js";
import { transact } from "./transaction.js";

const RECORD_PRIMARY_KEY = "idempotency_records_method_request_id_pk";

const recordIs = (key: IdempotencyKey) =>
  and(eq(idempotencyRecords.method, key.method), eq(idempotencyRecords.requestId, key.requestId));

async function findRecord(executor: Executor, key: IdempotencyKey) {
  const [record] = await executor
    .select({ fingerprint: idempotencyRecords.fingerprint, response: idempotencyRecords.response })
    .from(idempotencyRecords)
    .where(recordIs(key));
  return record;
}

function replay<T>(
  record: { fingerprint: string; response: unknown },
  key: IdempotencyKey,
  revive: (json: unknown) => T,
): T {
  if (record.fingerprint !== key.fingerprint) {
    throw invalidField(
      "request_id",
      "was already used for a different request; use a new request_id",
      "REQUEST_ID_REUSED",
    );
  }
  return revive(record.response);
}

export interface WriteOptions<T> {
  /** Absent: an ordinary write. validate_only calls pass none: they are never recorded. */
  key: IdempotencyKey | undefined;
  /** Turns the stored JSON of a result back into the result. */
  revive: (json: unknown) => T;
  /** Run every statement, then roll back (validate_only). */
  dryRun?: boolean;
}

/**
 * Runs a create in one transaction, idempotently by request_id. The record is claimed first
 * in that transaction (a duplicate in flight blocks on its row, then replays the winner's
 * response) and filled with the result before commit, so only successful calls are recorded.
 */
export async function writeOnce<T>(
  db: Database,
  options: WriteOptions<T>,
  work: (tx: Transaction) => Promise<T>,
): Promise<T> {
  const { key } = options;
  if (!key) return transact(db, work, { dryRun: options.dryRun });
  const existing = await findRecord(db, key);
  if (existing) return replay(existing, key, options.revive);
  try {
    return await transact(
      db,
      async (tx) => {
        await tx.insert(idempotencyRecords).values({ ...key, response: {} });
        const result = await work(tx);
        await tx
          .update(idempotencyRecords)
          .set({ response: result as object })
          .where(recordIs(key));
        return result;
      },
      { dryRun: options.dryRun },
    );
  } catch (err) {
    if (violatedConstraint(err)?.constraint !== RECORD_PRIMARY_KEY) throw err;
    const winner = await findRecord(db, key);
    if (winner) return replay(winner, key, options.revive);
    throw new DomainError(
      "aborted",
      "REQUEST_IN_PROGRESS",
      "a request with this request_id is in progress; retry it",
      { metadata: { request_id: key.requestId } },
    );
  }
}

/** Deletes records created before `before`; returns how many. */
export async function purgeIdempotencyRecords(db: Database, before: Date): Promise<number> {
  const deleted = await db
    .delete(idempotencyRecords)
    .where(lt(idempotencyRecords.createTime, before))
    .returning({ requestId: idempotencyRecords.requestId });
  return deleted.length;
}
