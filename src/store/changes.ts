import { and, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import { normalizeKey } from "../domain/text.js";
import type {
  ChangeAuthor,
  ChangeableCustomerField,
  ChangeKind,
  Cursor,
  Customer,
  CustomerChange,
  Page,
  ServiceInstance,
} from "../domain/types.js";
import { invalidField } from "../errors.js";
import type { FilterExpr } from "../filter/ast.js";
import { compileFilter, type FilterColumns } from "../filter/compile.js";
import type { Database, Executor } from "./db.js";
import { cursorValues, pageOf } from "./keyset.js";
import { changeFeedState, customerChanges } from "./schema.js";

/*
 * Why the feed is in commit order, and what it costs.
 *
 * A change's `sequence` is its transaction's id (xid8, assigned when the transaction first
 * writes) shifted left 16 bits, plus its ordinal in the transaction. A transaction that
 * commits before another one starts has the smaller id, so that order is consistent with
 * commit order. But ids are not committed in id order: transaction 41 may commit after 42.
 * So readers never read at or above the *safe bound*: the smallest id of a transaction still
 * running in this database, as of the reading statement's own snapshot. Below it every
 * transaction has ended, so no change can ever appear there again, and a reader that moved
 * past a position never misses a change behind it.
 *
 * The bound is taken from the statement's snapshot (pg_current_snapshot: its xmax and its
 * list of running ids), leaving out ids that pg_stat_activity shows running in another
 * database, so that a long transaction elsewhere on the cluster does not hold the feed
 * back. An id that has ended since the snapshot, or that pg_stat_activity does not show
 * (another role's session without pg_read_all_stats), holds it back until the next read:
 * late, never wrong. A long transaction in this database does hold delivery back until it
 * ends (the cost of this design; writers pay nothing: no lock, no counter).
 *
 * A reader's position (its head, a watcher's cursor) stops at the newest change below the
 * bound, never at the bound itself. After a failover the new primary goes on from the
 * highest transaction id its WAL showed it, which can be lower than ids the old primary had
 * ended without a synchronous commit (a rolled-back write whose WAL was never sent): a head
 * at the bound could be past the new primary's first ids, and their changes would be missed.
 * Every change commits synchronously, so a standby that is promoted has seen the newest one
 * and numbers every later transaction above it.
 */
const safeBound = sql`(
  select least(
    pg_snapshot_xmax(s.snap)::text::bigint,
    (select min(x::text::bigint) from pg_snapshot_xip(s.snap) as x
      where not exists (
        select 1 from pg_stat_activity a
        where a.backend_xid = xid(x) and a.datname is distinct from current_database()))
  ) << 16
  from (select pg_current_snapshot() as snap) as s)`;

/** The newest change below the safe bound: as far as a reader's position may go (see above). */
const newestFinal = sql`(select max(sequence) from customer_changes where sequence < ${safeBound})`;

/** Where processes tell each other that changes committed (NOTIFY / LISTEN). */
export const CHANGES_CHANNEL = "customer_changes";

/** Changes one transaction may record (the ordinal's 16 bits). */
export const MAX_CHANGES_PER_TRANSACTION = 65_536;

/** A change to record; who made it comes separately. */
export interface NewChange {
  kind: ChangeKind;
  customerId: string;
  customer?: Customer;
  previousCustomer?: Customer;
  changedFields?: ChangeableCustomerField[];
  serviceInstance?: ServiceInstance;
}

export const authorColumns = (author: ChangeAuthor) => ({
  actor: author.actor,
  actorKey: normalizeKey(author.actor),
  requestId: author.requestId,
});

/** The sequence of the current transaction's change number 0; the others add their ordinal. */
export const firstSequence = sql`(pg_current_xact_id()::text::bigint << 16)`;

/**
 * Records `changes` in the transaction `tx` is part of: they commit or roll back with it.
 * Their ordinals start at `firstOrdinal` (a transaction's changes need distinct ones). One
 * statement with one JSON parameter, however many changes.
 */
export async function recordChanges(
  tx: Executor,
  author: ChangeAuthor,
  changes: NewChange[],
  firstOrdinal = 0,
): Promise<void> {
  if (changes.length === 0) return;
  if (firstOrdinal + changes.length > MAX_CHANGES_PER_TRANSACTION) {
    throw new Error(`at most ${MAX_CHANGES_PER_TRANSACTION} changes per transaction`);
  }
  const { actor, actorKey, requestId } = authorColumns(author);
  const rows = changes.map((c, i) => ({
    o: firstOrdinal + i,
    k: c.kind,
    c: c.customerId,
    cu: c.customer ?? null,
    p: c.previousCustomer ?? null,
    f: c.changedFields ?? null,
    s: c.serviceInstance ?? null,
  }));
  await tx.execute(sql`
    insert into ${customerChanges} (sequence, kind, customer_id, actor, actor_key, request_id,
      customer, previous_customer, changed_fields, service_instance)
    select ${firstSequence} + r.o, r.k, r.c, ${actor}, ${actorKey}, ${requestId}, r.cu, r.p, r.f, r.s
    from json_to_recordset(${JSON.stringify(rows)}::json)
      as r(o bigint, k text, c text, cu jsonb, p jsonb, f jsonb, s jsonb)`);
}

/** A customer row's columns as the JSON of a Customer (what change records hold). */
export const customerJson = (row: SQL) => sql`jsonb_build_object(
  'id', ${row}.id, 'name', ${row}.name, 'referenceNumber', coalesce(${row}.reference_number, ''),
  'description', ${row}.description, 'serviceInstanceCount', ${row}.service_instance_count,
  'createTime', ${row}.create_time, 'updateTime', ${row}.update_time, 'etag', ${row}.etag)`;

/**
 * One statement that runs `write` (an INSERT, UPDATE or DELETE of one customer, RETURNING its
 * columns) and records its change with the customer as written (for a delete: as it was):
 * atomic without the round trips of a transaction, or of a second statement in one.
 * Returns the customer as recorded; undefined when `write` touched no row.
 */
export async function writeRecordingCustomer(
  executor: Executor,
  write: SQL,
  change: Pick<NewChange, "kind" | "previousCustomer" | "changedFields">,
  author: ChangeAuthor,
): Promise<Customer | undefined> {
  const { actor, actorKey, requestId } = authorColumns(author);
  const json = (value: unknown) =>
    value === undefined ? sql`null` : sql`${JSON.stringify(value)}::jsonb`;
  const rows = await executor.execute<{ customer: unknown }>(sql`
    with written as (${write}),
    recorded as (
      insert into ${customerChanges} (sequence, kind, customer_id, actor, actor_key, request_id,
        customer, previous_customer, changed_fields)
      select ${firstSequence}, ${change.kind}, id, ${actor}, ${actorKey}, ${requestId},
        ${customerJson(sql`written`)}, ${json(change.previousCustomer)}, ${json(change.changedFields)}
      from written
      returning customer)
    select customer from recorded`);
  const [row] = rows;
  return row ? reviveCustomer(row.customer) : undefined;
}

/** A customer stored as JSON (a change or an idempotency record) as a Customer again. */
export function reviveCustomer(json: unknown): Customer {
  const c = json as Customer & { createTime: string; updateTime: string };
  return { ...c, createTime: new Date(c.createTime), updateTime: new Date(c.updateTime) };
}

/** A service instance stored as JSON as a ServiceInstance again. */
export function reviveServiceInstance(json: unknown): ServiceInstance {
  const i = json as ServiceInstance & { createTime: string };
  return { ...i, createTime: new Date(i.createTime) };
}

/** The columns change filters read. */
export const changeFilterColumns: FilterColumns = {
  text: {
    kind: { key: sql`lower(${customerChanges.kind})`, nullable: false },
    actor: { key: customerChanges.actorKey, nullable: false },
    request_id: { key: sql`lower(${customerChanges.requestId})`, nullable: false },
    customer_id: { key: customerChanges.customerId, nullable: false, id: true },
  },
  number: {},
  time: { change_time: customerChanges.changeTime },
};

type ChangeRow = typeof customerChanges.$inferSelect;

function toChange(row: ChangeRow): CustomerChange {
  return {
    sequence: row.sequence,
    changeTime: row.changeTime,
    kind: row.kind as ChangeKind,
    customerId: row.customerId,
    customer: row.customer ? reviveCustomer(row.customer) : undefined,
    previousCustomer: row.previousCustomer ? reviveCustomer(row.previousCustomer) : undefined,
    changedFields: (row.changedFields as ChangeableCustomerField[] | null) ?? [],
    serviceInstance: row.serviceInstance ? reviveServiceInstance(row.serviceInstance) : undefined,
    actor: row.actor,
    requestId: row.requestId,
  };
}

/** Which changes: those of one customer, those meeting a filter, or both. */
export interface ChangeSelection {
  customerId?: string;
  filter?: FilterExpr;
}

const selected = ({ customerId, filter }: ChangeSelection) =>
  and(
    customerId === undefined ? undefined : eq(customerChanges.customerId, customerId),
    filter && compileFilter(filter, changeFilterColumns),
  );

/** Where a new watcher starts: below `position` everything is final. */
export interface FeedStart {
  position: bigint;
  /** The snapshot the start was read in: changes it shows had committed before the start. */
  snapshot: FeedSnapshot;
}

/** A PostgreSQL snapshot's transaction ids: ids below xmin and not in xip, below xmax, had ended. */
export interface FeedSnapshot {
  xmin: bigint;
  xmax: bigint;
  xip: bigint[];
}

/** Whether the change at `sequence` had committed when `snapshot` was taken. */
export function committedIn(snapshot: FeedSnapshot, sequence: bigint): boolean {
  const xid = sequence >> 16n;
  if (xid < snapshot.xmin) return true;
  return xid < snapshot.xmax && !snapshot.xip.includes(xid);
}

function parseSnapshot(text: string): FeedSnapshot {
  const [xmin = "0", xmax = "0", xip = ""] = text.split(":");
  return {
    xmin: BigInt(xmin),
    xmax: BigInt(xmax),
    xip: xip === "" ? [] : xip.split(",").map(BigInt),
  };
}

/** The sequence a ListCustomerChanges page token holds. */
function sequenceIn(cursor: Cursor): bigint {
  const [value] = cursorValues(cursor, ["string"]);
  if (typeof value !== "string" || !/^\d{1,20}$/.test(value)) {
    throw invalidField("page_token", "is not a valid page token");
  }
  return BigInt(value);
}

export interface ChangeStore {
  /** ListCustomerChanges: final changes, newest first, after the page token's position. */
  list(query: ChangeSelection & { after?: Cursor; limit: number }): Promise<Page<CustomerChange>>;
  /**
   * The feed reader's read: up to `limit` changes after `after`, oldest first, and the
   * position through which the feed is now final (`head`); `waiting` when changes have
   * committed above it (a transaction that started before them is still running).
   */
  readFeed(
    after: bigint,
    limit: number,
  ): Promise<{ changes: CustomerChange[]; head: bigint; waiting: boolean }>;
  /**
   * A watcher's replay: the selected changes in (after, through], oldest first (`through`
   * must be final), and the position purged through: a watcher behind it has lost changes.
   */
  replay(
    query: ChangeSelection & { after: bigint; through: bigint; limit: number },
  ): Promise<{ changes: CustomerChange[]; purgedThrough: bigint }>;
  /** Where a watcher with no cursor starts. */
  start(): Promise<FeedStart>;
  /** The position changes have been purged through: older cursors have expired. */
  purgedThrough(): Promise<bigint>;
  /** Deletes up to `batch` changes made before `before`; returns how many. */
  purge(before: Date, batch: number): Promise<number>;
  /** NOTIFY on {@link CHANGES_CHANNEL}: wakes the feed readers of the other processes. */
  notify(payload: string): Promise<void>;
}

export function createChangeStore({
  db,
  reader = () => db,
  background = db,
}: {
  db: Database;
  /** Where the current call's reads go (see StoreDeps.reader): ListCustomerChanges. */
  reader?: () => Database;
  background?: Database;
}): ChangeStore {
  return {
    async list({ after, limit, ...selection }) {
      const before = after ? sequenceIn(after) : undefined;
      // On a standby the safe bound holds as well: its snapshot lists as running every id
      // it has seen no end of (hot standby's known-assigned ids).
      const rows = await reader()
        .select()
        .from(customerChanges)
        .where(
          and(
            selected(selection),
            lt(customerChanges.sequence, safeBound),
            before === undefined ? undefined : lt(customerChanges.sequence, before),
          ),
        )
        .orderBy(desc(customerChanges.sequence))
        .limit(limit + 1);
      const page = pageOf(rows, limit, (row) => [row.sequence.toString()]);
      return { ...page, items: page.items.map(toChange) };
    },

    async readFeed(after, limit) {
      // The one-row state table carries the bound, so that it is computed once; the newest
      // change below it is read off that one value.
      const once = background
        .select({ safe: sql<string>`${safeBound}`.as("safe") })
        .from(changeFeedState)
        .as("once");
      const bound = background
        .select({
          safe: once.safe,
          newest: sql<string | null>`(select max(sequence) from ${customerChanges})`.as("newest"),
          newestFinal: sql<string | null>`(select max(c.sequence) from ${customerChanges} c
            where c.sequence < ${once.safe})`.as("newest_final"),
        })
        .from(once)
        .as("bound");
      const rows = await background
        .select({
          change: customerChanges,
          safe: bound.safe,
          newest: bound.newest,
          newestFinal: bound.newestFinal,
        })
        .from(bound)
        .leftJoin(
          customerChanges,
          and(
            sql`${customerChanges.sequence} > ${after}`,
            sql`${customerChanges.sequence} < ${bound.safe}`,
          ),
        )
        .orderBy(customerChanges.sequence)
        .limit(limit);
      const changes = rows.flatMap((r) => (r.change ? [toChange(r.change)] : []));
      const safe = BigInt(rows[0]?.safe ?? 0);
      const last = changes[changes.length - 1];
      // A full batch may have more behind it: the head is its last change. Otherwise it is
      // the newest change below the bound (not the bound: see the top of this file).
      const final = rows[0]?.newestFinal;
      const head =
        changes.length === limit && last ? last.sequence : final == null ? after : BigInt(final);
      const newest = rows[0]?.newest;
      return {
        changes,
        head: head > after ? head : after,
        waiting: newest !== null && newest !== undefined && BigInt(newest) >= safe,
      };
    },

    async replay({ after, through, limit, ...selection }) {
      // One statement, so the purge position and the rows come from one snapshot: a purge
      // that removed rows this read would have returned shows in the position it reads.
      const rows = await db
        .select({ change: customerChanges, purgedThrough: changeFeedState.purgedThrough })
        .from(changeFeedState)
        .leftJoin(
          customerChanges,
          and(
            selected(selection),
            sql`${customerChanges.sequence} > ${after}`,
            sql`${customerChanges.sequence} <= ${through}`,
          ),
        )
        .orderBy(customerChanges.sequence)
        .limit(limit);
      return {
        changes: rows.flatMap((r) => (r.change ? [toChange(r.change)] : [])),
        purgedThrough: rows[0]?.purgedThrough ?? 0n,
      };
    },

    async start() {
      const [row] = await db.execute<{ position: string; snapshot: string }>(
        sql`select coalesce(${newestFinal}, 0) as position, pg_current_snapshot()::text as snapshot`,
      );
      return {
        position: BigInt(row?.position ?? 0),
        snapshot: parseSnapshot(row?.snapshot ?? ""),
      };
    },

    async purgedThrough() {
      const [state] = await db
        .select({ purgedThrough: changeFeedState.purgedThrough })
        .from(changeFeedState);
      return state?.purgedThrough ?? 0n;
    },

    async notify(payload) {
      await background.execute(sql`select pg_notify(${CHANGES_CHANNEL}, ${payload})`);
    },

    async purge(before, batch) {
      const [row] = await background.execute<{ purged: number }>(sql`
        with doomed as (
          select sequence from ${customerChanges}
          where change_time < ${before.toISOString()}::timestamptz
          order by change_time limit ${batch}),
        gone as (
          delete from ${customerChanges} c using doomed where c.sequence = doomed.sequence
          returning c.sequence)
        update ${changeFeedState}
          set purged_through = greatest(purged_through, (select max(sequence) from gone))
        returning (select count(*) from gone)::integer as purged`);
      return row?.purged ?? 0;
    },
  };
}
