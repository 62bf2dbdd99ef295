import { setMaxListeners } from "node:events";
import postgres from "postgres";
import { DomainError } from "../errors.js";
import { parseLsn } from "./wal-position.js";

/**
 * Whether a primary is reachable, and its WAL position over time.
 *
 * With several hosts in DATABASE_URL (or HAProxy in front of Patroni), postgres.js finds the
 * new primary after a failover by itself, but while there is none its statements wait,
 * without an error, for as long as their call's deadline (../shared/research/ha-cluster.md).
 * This watch probes the primary on a connection of its own: `pg_current_wal_lsn()` answers
 * only on a primary, so a probe that succeeds proves one is there. When a probe fails, the
 * outage signal aborts: calls waiting for the database end at once with UNAVAILABLE, and new
 * ones are refused until a probe succeeds again (probing every `outageIntervalMs` meanwhile).
 *
 * A primary that cannot commit counts as unreachable too: with synchronous replication
 * required (Patroni's synchronous_mode_strict), a new primary waits for a standby to attach
 * as synchronous, and every commit meanwhile blocks. The probe sees that (no synchronous
 * standby in pg_stat_replication while synchronous_standby_names is set), so calls fail fast
 * then as well. Seeing it needs pg_monitor (or pg_read_all_stats); without it the probe
 * cannot tell, and such calls wait up to their deadline.
 *
 * The positions it reads, with the time of each, tell how far behind a standby is
 * (read-replicas.ts): a standby that has replayed the position read at time t has every
 * commit acknowledged before t.
 */
export interface PrimaryWatch {
  /** Whether the last probe reached a primary (true until a probe says otherwise). */
  reachable(): boolean;
  /** Why it is not: no primary answered, or the primary cannot commit. */
  unreachableError(): DomainError;
  /** Aborts, with an UNAVAILABLE DomainError, when the primary is found unreachable. */
  outageSignal(): AbortSignal;
  /** Probes now, or joins the probe in flight; rejects if no primary answered in time. */
  probe(): Promise<void>;
  /** Something looked like a lost database: probe soon rather than at the next interval. */
  suspect(): void;
  /** The newest time (performance.now()) the primary's position was at most `lsn`. */
  timeOfPosition(lsn: bigint): number | undefined;
  start(): void;
  close(): Promise<void>;
}

export interface PrimaryWatchOptions {
  url: string;
  connectTimeoutSeconds: number;
  /** Between probes while the primary answers. */
  intervalMs: number;
  /** Between probes while it does not. Default 200 ms. */
  outageIntervalMs?: number;
  /** A probe that takes longer fails. Default 1 s. */
  timeoutMs?: number;
  /** Positions kept for timeOfPosition; enough to cover the replicas' largest lag. */
  keepSamples?: number;
  onChange?: (reachable: boolean) => void;
}

const noPrimary = () =>
  new DomainError("unavailable", "DATABASE_UNAVAILABLE", "no primary database is reachable");

const cannotCommit = () =>
  new DomainError(
    "unavailable",
    "DATABASE_UNAVAILABLE",
    "the primary database cannot commit: it waits for a synchronous standby",
  );

export function createPrimaryWatch(options: PrimaryWatchOptions): PrimaryWatch {
  const client = postgres(options.url, {
    max: 1,
    connect_timeout: options.connectTimeoutSeconds,
    fetch_types: false,
    idle_timeout: 0,
    backoff: () => 0.05,
    onnotice: () => {},
    connection: { application_name: "customer-inventory-watch" },
  });
  const timeoutMs = options.timeoutMs ?? 1_000;
  const keep = options.keepSamples ?? 64;
  const samples: { at: number; lsn: bigint }[] = [];
  let up = true;
  let why = noPrimary();
  // Every call in flight listens to the outage signal: no listener limit.
  const newOutage = () => {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    return controller;
  };
  let outage = newOutage();
  let inFlight: Promise<void> | undefined;
  // A query that timed out may still be waiting for a connection: later probes wait for it
  // instead of queueing more behind it. `at` is when it was sent, so its position is not
  // taken for newer than it is.
  let query: { at: number; rows: Promise<{ lsn: string; blocked: boolean }[]> } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const setReachable = (now: boolean, err?: unknown) => {
    if (!now) why = err instanceof DomainError ? err : noPrimary();
    if (now === up) return;
    up = now;
    if (!now) {
      outage.abort(why);
      outage = newOutage();
    }
    options.onChange?.(now);
  };

  const once = async () => {
    if (!query) {
      const sent = {
        at: performance.now(),
        rows: client<{ lsn: string; blocked: boolean }[]>`
          select pg_current_wal_lsn()::text as lsn,
            current_setting('synchronous_standby_names') <> ''
              and current_setting('synchronous_commit') in ('on', 'remote_write', 'remote_apply')
              and not exists (select 1 from pg_stat_replication
                where sync_state in ('sync', 'quorum') or sync_state is null) as blocked`.execute(),
      };
      const forget = () => {
        if (query === sent) query = undefined;
      };
      sent.rows.then(forget, forget);
      query = sent;
    }
    const { at, rows } = query;
    let timeout: NodeJS.Timeout | undefined;
    try {
      const [row] = await Promise.race([
        rows,
        new Promise<never>((_, reject) => {
          timeout = setTimeout(() => reject(noPrimary()), timeoutMs);
        }),
      ]);
      if (!row) throw noPrimary();
      if (row.blocked) throw cannotCommit();
      samples.push({ at, lsn: parseLsn(row.lsn) });
      if (samples.length > keep) samples.shift();
      setReachable(true);
    } catch (err) {
      setReachable(false, err);
      throw err;
    } finally {
      clearTimeout(timeout);
    }
  };

  const probe = () => {
    inFlight ??= once().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  const schedule = (ms: number) => {
    clearTimeout(timer);
    if (closed) return;
    timer = setTimeout(() => {
      probe().then(
        () => schedule(options.intervalMs),
        () => schedule(options.outageIntervalMs ?? 200),
      );
    }, ms);
    timer.unref();
  };

  return {
    reachable: () => up,
    unreachableError: () => why,
    outageSignal: () => outage.signal,
    probe,
    suspect: () => {
      if (!inFlight && !closed) schedule(0);
    },
    timeOfPosition(lsn) {
      for (let i = samples.length - 1; i >= 0; i--) {
        const sample = samples[i] as (typeof samples)[number];
        if (sample.lsn <= lsn) return sample.at;
      }
      return undefined;
    },
    start: () => schedule(0),
    async close() {
      closed = true;
      clearTimeout(timer);
      await client.end({ timeout: 1 });
    },
  };
}
