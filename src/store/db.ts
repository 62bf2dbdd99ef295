import { AsyncLocalStorage } from "node:async_hooks";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { DomainError } from "../errors.js";
import type { Tracing } from "../observability/tracing.js";
import type { Database } from "./database-type.js";
import { classifyDriverError, driverErrorOf } from "./driver-errors.js";
import { hostUrls, sessionAttrsOf } from "./postgres-url.js";
import { createPrimaryWatch, type PrimaryWatch } from "./primary-watch.js";
import { createReadRouting, type ReadRouting, type ReplicaNode } from "./read-replicas.js";
import * as schema from "./schema.js";

export type { Database };
export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];
/** Anything queries can run on: the pool or an open transaction. */
export type Executor = Database | Transaction;

export interface DatabaseOptions {
  url: string;
  /** Connections in the pool. */
  poolSize: number;
  /** Server-side cap on any one statement, in milliseconds (a backstop for deadlines). */
  statementTimeoutMs: number;
  /** How long to wait for a new connection, in seconds. */
  connectTimeoutSeconds: number;
  /** Statements and transactions that may queue for a connection; more fail at once. Default no bound. */
  maxWaiting?: number;
  /**
   * Prepared statements and pipelining; default true. False behind a transaction-mode pooler
   * such as PgBouncer, which can run neither.
   */
  prepare?: boolean;
  /** Standbys to read from (one URL, one or several hosts); see read-replicas.ts. */
  readUrl?: string;
  /** Connections in each standby's pool; default poolSize. */
  readPoolSize?: number;
  /** A standby with older data than this is not read from. Default 1000 ms. */
  replicaMaxLagMs?: number;
  /** How long a read with a consistency token waits for a standby to catch up. Default 20 ms. */
  replicaWaitMs?: number;
  /** Between probes of the primary while it answers. Default 2 s (100 ms with standbys). */
  primaryProbeIntervalMs?: number;
  /** A span per statement and transaction, under the call's span; none without. */
  tracing?: Pick<Tracing, "startQuery" | "fail">;
}

/** How the pool is used right now. */
export interface PoolUsage {
  /** Connections the pool may open. */
  size: number;
  /** Connections running a statement or holding a transaction. */
  inUse: number;
  /** Statements and transactions queued for a free connection. */
  waiting: number;
}

export interface DatabaseHandle {
  db: Database;
  /**
   * One connection of its own for the service's background work (the change-feed reader,
   * purges), so that it neither waits behind calls nor counts in the calls' pool.
   */
  background: Database;
  usage(): PoolUsage;
  /**
   * Runs `work` so that every statement it starts is cancelled in PostgreSQL when `signal`
   * aborts (a call's deadline or its client going away), and none starts afterwards.
   */
  withSignal<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T>;
  /**
   * LISTENs on `channel` on a connection of its own (re-established after a loss), calling
   * `onNotify` with each payload. Resolves once listening.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<{ close(): Promise<void> }>;
  /** Whether a primary is reachable (health, and failing fast while it is not). */
  watch: PrimaryWatch;
  /** Where reads go: standbys of DATABASE_READ_URL, or the primary. */
  reads: ReadRouting;
  /** Closes the pool, letting queries in progress finish for up to `timeoutSeconds`. */
  close(timeoutSeconds?: number): Promise<void>;
}

/**
 * The postgres.js settings of the service's pool; the list benchmark runs its direct SQL
 * through the same ones.
 */
export function clientOptions(
  options: Omit<DatabaseOptions, "url">,
): postgres.Options<Record<string, postgres.PostgresType>> {
  return {
    max: options.poolSize,
    prepare: options.prepare ?? true,
    // postgres.js sends queries on a connection already busy (pipelining). Through PgBouncer in
    // transaction mode, queries pipelined behind others were never answered: 1 or 2 of 3,000
    // concurrent calls hung, their connection idle in PostgreSQL (porsager/postgres#970).
    ...(options.prepare === false && { max_pipeline: 0 }),
    connect_timeout: options.connectTimeoutSeconds,
    // No query binds an array. The array types postgres.js fetches on every new connection
    // cost a query each, and a failure of that query (a backend terminated during it) was a
    // rejection nobody handled, which ends a Node process (seen in the backend-termination
    // test under load).
    fetch_types: false,
    idle_timeout: 60,
    // A dead connection reconnects after a backoff that postgres.js grows with every error
    // across the pool, up to 20 s: after one reset of ten connections, calls handed to them
    // waited 20 s while the database was fine. Reconnect within a second instead.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    max_lifetime: 30 * 60,
    // Plans: drizzle sends its queries as unnamed statements, which PostgreSQL plans for their
    // values every time (a search for a rare term and a common one get their own plans). Only
    // the hot paths prepared on purpose are named (customers.ts: get_customer), and may keep a
    // generic plan: a primary-key lookup has one right plan.
    onnotice: () => {},
    connection: {
      application_name: "customer-inventory",
      statement_timeout: options.statementTimeoutMs,
      lock_timeout: options.statementTimeoutMs,
    },
  };
}

type Client = postgres.Sql<Record<string, postgres.PostgresType>>;
type Query = ReturnType<Client["unsafe"]>;

/** Pauses before each repeated cancel of a statement that has not ended, in milliseconds. */
const CANCEL_RETRY_MS = [100, 400, 1_500];

const cancelled = () =>
  Object.assign(new Error("canceling statement: the call ended"), { code: "57014" });

/**
 * Wraps the postgres.js client that drizzle runs on. drizzle sends every statement through
 * `unsafe` and every transaction through `begin` (whose statements go through the
 * transaction's own `unsafe`), so this is where
 * - statements are cancelled when the signal of the call running them aborts, and refused
 *   once it has: postgres.js cancels a running statement with a CancelRequest and takes a
 *   queued one off its queue;
 * - the pool's use is counted (postgres.js keeps its state to itself, porsager/postgres#443):
 *   each statement outside a transaction and each transaction needs one connection until it
 *   settles, and beyond the pool's size the rest wait;
 * - the wait is bounded: past `maxWaiting` queued, new work fails at once with UNAVAILABLE.
 */
function instrumentedClient(
  client: Client,
  options: {
    poolSize: number;
    maxWaiting: number;
    signals: AsyncLocalStorage<AbortSignal>;
    /** The primary's watch: refuse work while it is unreachable, and hear of lost connections. */
    watch?: PrimaryWatch;
    tracing?: Pick<Tracing, "startQuery" | "fail">;
    /**
     * The URL asks for the primary (target_session_attrs): a write that meets a read-only
     * connection is tried again. Without it a retry would reach the same server.
     */
    retryReadOnly?: boolean;
  },
) {
  const { signals, watch, tracing } = options;
  const retried = options.retryReadOnly ? retriedOnReadOnly : (make: () => Query): Query => make();
  /** A span for `work` (a statement, or a transaction when `text` is undefined). */
  const traced = <T extends PromiseLike<unknown>>(text: string | undefined, work: T): T => {
    if (!tracing) return work;
    const span = tracing.startQuery(text === undefined ? "TRANSACTION" : operationOf(text), {
      "db.system.name": "postgresql",
      ...(text !== undefined && { "db.query.text": text }),
    });
    work.then(
      () => span.end(),
      (err: unknown) => tracing.fail(span, err),
    );
    return work;
  };
  let pending = 0;
  const settled = () => {
    pending -= 1;
  };
  const admit = () => {
    if (watch && !watch.reachable()) throw watch.unreachableError();
    if (pending >= options.poolSize + options.maxWaiting) {
      throw new DomainError(
        "unavailable",
        "DATABASE_BUSY",
        "the database is busy: too many calls are waiting for a connection",
      );
    }
    if (signals.getStore()?.aborted) throw cancelled();
  };
  const count = <T extends PromiseLike<unknown>>(work: T): T => {
    pending += 1;
    work.then(settled, (err: unknown) => {
      settled();
      if (watch && classifyDriverError(err)?.kind === "unavailable") watch.suspect();
    });
    return work;
  };
  const cancellable = (query: Query): Query => {
    const signal = signals.getStore();
    if (!signal) return query;
    let ended = false;
    let retry: NodeJS.Timeout | undefined;
    // postgres.js hands a new query to a connection a microtask later; cancelling before
    // that would strand the connection, so the first cancel waits for the next turn. A
    // CancelRequest that reaches the backend before the statement does cancels nothing, so
    // it is sent again a few times while the statement has not ended (statement_timeout
    // remains the backstop).
    const attempt = (tries: number) => {
      if (ended) return;
      Promise.resolve(query.cancel()).catch(() => {});
      const delay = CANCEL_RETRY_MS[tries];
      if (delay !== undefined) retry = setTimeout(() => attempt(tries + 1), delay);
    };
    const cancel = () => setImmediate(() => attempt(0));
    signal.addEventListener("abort", cancel, { once: true });
    const forget = () => {
      ended = true;
      clearTimeout(retry);
      signal.removeEventListener("abort", cancel);
    };
    query.then(forget, forget);
    return query;
  };
  const unsafeOf =
    (target: Client) =>
    (...args: Parameters<Client["unsafe"]>): Query => {
      if (signals.getStore()?.aborted) throw cancelled();
      return traced(args[0], cancellable(target.unsafe(...args)));
    };
  const wrap = (target: Client, topLevel: boolean): Client =>
    new Proxy(target, {
      get(object, property, receiver) {
        if (property === "unsafe") {
          if (!topLevel) return unsafeOf(object);
          return (...args: Parameters<Client["unsafe"]>) => {
            admit();
            return count(
              traced(
                args[0],
                retried(() => cancellable(object.unsafe(...args))),
              ),
            );
          };
        }
        if (topLevel && property === "begin") {
          return (...args: unknown[]) => {
            admit();
            const work = args.pop() as (tx: Client) => unknown;
            const begin = object.begin as (...a: unknown[]) => Promise<unknown>;
            const attempt = () => begin(...args, (tx: Client) => work(wrap(tx, false)));
            return count(
              traced(
                undefined,
                options.retryReadOnly
                  ? attempt().catch((err) =>
                      isReadOnlyError(err) ? attempt() : Promise.reject(err),
                    )
                  : attempt(),
              ),
            );
          };
        }
        return Reflect.get(object, property, receiver);
      },
    });
  return { client: wrap(client, true), pending: () => pending };
}

/** A statement's span name: its first keyword (SELECT, INSERT, WITH, ...). */
const operationOf = (text: string) => /^\s*([a-zA-Z]+)/.exec(text)?.[1]?.toUpperCase() ?? "SQL";

/**
 * A write that reached a read-only connection (a standby): nothing was written, and
 * postgres.js as patched retires that connection (scripts/patch-postgres.mjs, 6), so the
 * write is tried once more, on a connection that checks it reached the primary.
 */
const isReadOnlyError = (err: unknown) => driverErrorOf(err)?.code === "25006";

/**
 * `make()`'s statement, made and run once more if it fails with 25006. drizzle calls
 * `.values()` on the statement before awaiting it; the repeat is made the same way.
 */
function retriedOnReadOnly(make: () => Query): Query {
  const first = make();
  let values = false;
  let result: Promise<unknown> | undefined;
  const settled = () => {
    result ??= first.then(undefined, (err: unknown) => {
      if (!isReadOnlyError(err)) throw err;
      const again = make();
      return values ? again.values() : again;
    });
    return result;
  };
  const query: Query = new Proxy(first, {
    get(target, property) {
      if (property === "then") {
        return (onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) =>
          settled().then(onFulfilled, onRejected);
      }
      if (property === "catch")
        return (onRejected: (e: unknown) => unknown) => settled().catch(onRejected);
      if (property === "finally") return (onFinally: () => void) => settled().finally(onFinally);
      if (property === "values") {
        return () => {
          values = true;
          target.values();
          return query;
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return query;
}

export function createDatabase(options: DatabaseOptions): DatabaseHandle {
  const signals = new AsyncLocalStorage<AbortSignal>();
  const readUrls = options.readUrl ? hostUrls(options.readUrl) : [];
  const watch = createPrimaryWatch({
    url: options.url,
    connectTimeoutSeconds: options.connectTimeoutSeconds,
    intervalMs: options.primaryProbeIntervalMs ?? (readUrls.length > 0 ? 100 : 2_000),
    // Enough positions to tell a lag up to twice the largest allowed.
    keepSamples: Math.ceil((2 * (options.replicaMaxLagMs ?? 1_000)) / 100) + 8,
  });
  const { client, pending } = instrumentedClient(postgres(options.url, clientOptions(options)), {
    poolSize: options.poolSize,
    maxWaiting: options.maxWaiting ?? Number.POSITIVE_INFINITY,
    signals,
    watch,
    tracing: options.tracing,
    retryReadOnly: ["primary", "read-write"].includes(sessionAttrsOf(options.url) ?? ""),
  });
  const backgroundClient = postgres(options.url, { ...clientOptions(options), max: 1 });
  const db = drizzle(client, { schema });
  const replicaNodes: ReplicaNode[] = readUrls.map((url) => {
    const poolSize = options.readPoolSize ?? options.poolSize;
    const raw = postgres(url, clientOptions({ ...options, poolSize }));
    const monitor = postgres(url, { ...clientOptions({ ...options, poolSize: 1 }), max: 1 });
    const { client: replica } = instrumentedClient(raw, {
      poolSize,
      maxWaiting: options.maxWaiting ?? Number.POSITIVE_INFINITY,
      signals,
      tracing: options.tracing,
    });
    const { host, port } = new URL(url.replace(/^postgres(ql)?:/, "http:"));
    return {
      name: `${host}${port ? "" : ":5432"}`,
      db: drizzle(replica, { schema }),
      monitor,
      close: async (timeout = 5) => {
        await Promise.all([raw.end({ timeout }), monitor.end({ timeout })]);
      },
    };
  });
  const reads = createReadRouting({
    primary: db,
    watch,
    nodes: replicaNodes,
    maxLagMs: options.replicaMaxLagMs ?? 1_000,
    waitMs: options.replicaWaitMs ?? 20,
    pollIntervalMs: 100,
  });
  watch.start();
  reads.start();
  return {
    db,
    background: drizzle(backgroundClient, { schema }),
    usage: () => ({
      size: options.poolSize,
      inUse: Math.min(pending(), options.poolSize),
      waiting: Math.max(0, pending() - options.poolSize),
    }),
    withSignal: (signal, work) => signals.run(signal, work),
    async listen(channel, onNotify) {
      const { unlisten } = await client.listen(channel, onNotify);
      return { close: () => unlisten() };
    },
    watch,
    reads,
    async close(timeoutSeconds = 5) {
      await Promise.all([
        client.end({ timeout: timeoutSeconds }),
        backgroundClient.end({ timeout: timeoutSeconds }),
        reads.close(timeoutSeconds),
        watch.close(),
      ]);
    },
  };
}

/** Resolves when the database answers a trivial query. */
export async function pingDatabase(db: Database): Promise<void> {
  await db.execute(sql`select 1`);
}
