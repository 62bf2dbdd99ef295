import { AsyncLocalStorage } from "node:async_hooks";
import { sql } from "drizzle-orm";
import type postgres from "postgres";
import type { Database } from "./database-type.js";
import type { PrimaryWatch } from "./primary-watch.js";
import { parseLsn } from "./wal-position.js";

/**
 * Where a call's reads go: a standby of DATABASE_READ_URL when it is recent enough, the
 * primary otherwise. The consistency interceptor picks the target once per call (`choose`)
 * and runs the call with it (`run`); the store reads through `reader()`.
 *
 * - A write call reads on the primary: anything inside a write, and a delete's precondition,
 *   sees the newest data.
 * - A read with a consistency token (a WAL position after some write's commit) goes to a
 *   standby only once that standby has replayed the position, waiting up to `waitMs` for
 *   one to get there; then to the primary. It always sees that write.
 * - A read without a token goes to a standby whose data is at most `maxLagMs` old, measured
 *   against the primary's positions (primary-watch.ts); a standby further behind is not used.
 * A node of DATABASE_READ_URL that is a primary at the time (after a failover) counts as
 * current; standbys are preferred to it.
 */
export interface ReadRouting {
  /** Whether DATABASE_READ_URL listed any node. */
  readonly enabled: boolean;
  /**
   * Picks the target of a read call that must see at least WAL position `floor`, or must be
   * served by the primary.
   */
  choose(floor: bigint | "primary" | undefined): Promise<ReadTarget>;
  /** Runs `work` with `target` as the call's reader. */
  run<T>(target: ReadTarget, work: () => T): T;
  /** The current call's reader; the primary outside a read call. */
  reader(): Database;
  /** The primary's WAL position now: after a commit, at or past its commit record. */
  position(): Promise<bigint>;
  /** Each node's state, for metrics. */
  nodes(): ReplicaState[];
  /** Reads served by the primary and by standbys so far. */
  served(): { primary: number; standby: number };
  start(): void;
  close(timeoutSeconds?: number): Promise<void>;
}

export interface ReadTarget {
  db: Database;
  /** The node's name (host:port), or "primary" for DATABASE_URL's pool. */
  name: string;
  /** A standby at its last poll (else the primary, through either pool). */
  standby: boolean;
}

export interface ReplicaState {
  name: string;
  /** Answered its last poll. */
  healthy: boolean;
  /** In recovery (a standby) at its last poll. */
  standby: boolean;
  /** How old its data is, in milliseconds; undefined while that is unknown. */
  lagMs: number | undefined;
}

export interface ReplicaNode {
  name: string;
  db: Database;
  /** Its own connection for polling, so that polls never queue behind reads. */
  monitor: postgres.Sql;
  close(timeoutSeconds?: number): Promise<void>;
}

export interface ReadRoutingOptions {
  primary: Database;
  watch: PrimaryWatch;
  nodes: ReplicaNode[];
  maxLagMs: number;
  /** How long a read with a token waits for a standby to replay it. */
  waitMs: number;
  /** Between polls of each node. */
  pollIntervalMs: number;
}

interface NodeState {
  node: ReplicaNode;
  healthy: boolean;
  standby: boolean;
  lsn: bigint;
  /** The poll in flight, shared by everyone who waits for a newer position. */
  polling: Promise<void> | undefined;
}

const PRIMARY = "primary";
// After a commit has returned, the WAL is written at least past its commit record.
const currentPosition = sql`select pg_current_wal_lsn()::text as lsn`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createReadRouting(options: ReadRoutingOptions): ReadRouting {
  const calls = new AsyncLocalStorage<ReadTarget>();
  const primary: ReadTarget = { db: options.primary, name: PRIMARY, standby: false };
  const states: NodeState[] = options.nodes.map((node) => ({
    node,
    healthy: false,
    standby: true,
    lsn: 0n,
    polling: undefined,
  }));
  const served = { primary: 0, standby: 0 };
  let timer: NodeJS.Timeout | undefined;
  let next = 0;

  const poll = (state: NodeState) => {
    state.polling ??= state.node.monitor<{ standby: boolean; lsn: string | null }[]>`
        select pg_is_in_recovery() as standby,
          (case when pg_is_in_recovery() then pg_last_wal_replay_lsn()
            else pg_current_wal_lsn() end)::text as lsn`
      .then(
        ([row]) => {
          state.healthy = row?.lsn != null;
          state.standby = row?.standby ?? true;
          if (row?.lsn) state.lsn = parseLsn(row.lsn);
        },
        () => {
          state.healthy = false;
        },
      )
      .finally(() => {
        state.polling = undefined;
      });
    return state.polling;
  };

  const lagOf = (state: NodeState, now: number): number | undefined => {
    if (!state.healthy) return undefined;
    if (!state.standby) return 0;
    const at = options.watch.timeOfPosition(state.lsn);
    return at === undefined ? undefined : Math.max(0, now - at);
  };

  const usable = (state: NodeState, now: number, floor: bigint | undefined) => {
    const lag = lagOf(state, now);
    return (
      lag !== undefined && lag <= options.maxLagMs && (floor === undefined || state.lsn >= floor)
    );
  };

  /** A usable node, standbys first, taking turns among them. */
  const pick = (floor: bigint | undefined): ReadTarget | undefined => {
    const now = performance.now();
    const candidates = states.filter((s) => usable(s, now, floor));
    const standbys = candidates.filter((s) => s.standby);
    const from = standbys.length > 0 ? standbys : candidates;
    if (from.length === 0) return undefined;
    next = (next + 1) % from.length;
    const state = from[next] as NodeState;
    return { db: state.node.db, name: state.node.name, standby: state.standby };
  };

  const counted = (target: ReadTarget) => {
    if (target.standby) served.standby += 1;
    else served.primary += 1;
    return target;
  };

  return {
    enabled: states.length > 0,
    async choose(floor) {
      if (states.length === 0 || floor === "primary") return counted(primary);
      const target = pick(floor);
      if (target || floor === undefined) return counted(target ?? primary);
      // Behind the caller's write: ask the standbys again for a few milliseconds.
      const until = performance.now() + options.waitMs;
      while (performance.now() < until) {
        await Promise.all(states.filter((s) => s.healthy).map(poll));
        const caughtUp = pick(floor);
        if (caughtUp) return counted(caughtUp);
        await sleep(2);
      }
      return counted(primary);
    },
    run: (target, work) => calls.run(target, work),
    reader: () => calls.getStore()?.db ?? options.primary,
    async position() {
      const rows = await options.primary.execute<{ lsn: string }>(currentPosition);
      const lsn = rows[0]?.lsn;
      if (!lsn) throw new Error("pg_current_wal_lsn() returned nothing");
      return parseLsn(lsn);
    },
    nodes: () => {
      const now = performance.now();
      return states.map((s) => ({
        name: s.node.name,
        healthy: s.healthy,
        standby: s.standby,
        lagMs: lagOf(s, now),
      }));
    },
    served: () => ({ ...served }),
    start() {
      if (states.length === 0) return;
      const tick = () => {
        for (const state of states) void poll(state);
        timer = setTimeout(tick, options.pollIntervalMs);
        timer.unref();
      };
      tick();
    },
    async close(timeoutSeconds = 5) {
      clearTimeout(timer);
      await Promise.all(states.map((s) => s.node.close(timeoutSeconds)));
    },
  };
}
