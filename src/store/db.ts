import { sql } from "drizzle-orm";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema.js";

export type Database = PostgresJsDatabase<typeof schema>;
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
  usage(): PoolUsage;
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
    connect_timeout: options.connectTimeoutSeconds,
    idle_timeout: 60,
    max_lifetime: 30 * 60,
    onnotice: () => {},
    connection: {
      application_name: "customer-inventory",
      statement_timeout: options.statementTimeoutMs,
      lock_timeout: options.statementTimeoutMs,
      // postgres.js prepares every statement. After five runs PostgreSQL may switch a
      // prepared statement to a generic plan, chosen without the values: for `search_text
      // like $1` that is one plan for rare and common terms alike, and for a rare term under
      // ORDER BY name it can walk the whole name index. Plans are cheap next to that.
      plan_cache_mode: "force_custom_plan",
    },
  };
}

type Client = postgres.Sql<Record<string, postgres.PostgresType>>;

/**
 * postgres.js keeps its pool's state to itself (porsager/postgres#443), so we count what
 * asks it for a connection: drizzle runs every statement outside a transaction through
 * `unsafe` and every transaction through `begin`, each needing one connection until it
 * settles. Beyond the pool's size, the rest wait in its queue.
 */
function countingClient(client: Client): { client: Client; pending: () => number } {
  let pending = 0;
  const settled = () => {
    pending -= 1;
  };
  const track = <T extends PromiseLike<unknown>>(work: T): T => {
    pending += 1;
    work.then(settled, settled);
    return work;
  };
  const counted = new Proxy(client, {
    get(target, property, receiver) {
      if (property === "unsafe") {
        return (...args: Parameters<Client["unsafe"]>) => track(target.unsafe(...args));
      }
      if (property === "begin") {
        return (...args: Parameters<Client["begin"]>) =>
          track((target.begin as (...a: unknown[]) => Promise<unknown>)(...args));
      }
      return Reflect.get(target, property, receiver);
    },
  });
  return { client: counted, pending: () => pending };
}

export function createDatabase(options: DatabaseOptions): DatabaseHandle {
  const { client, pending } = countingClient(postgres(options.url, clientOptions(options)));
  return {
    db: drizzle(client, { schema }),
    usage: () => ({
      size: options.poolSize,
      inUse: Math.min(pending(), options.poolSize),
      waiting: Math.max(0, pending() - options.poolSize),
    }),
    close: (timeoutSeconds = 5) => client.end({ timeout: timeoutSeconds }),
  };
}

/** Resolves when the database answers a trivial query. */
export async function pingDatabase(db: Database): Promise<void> {
  await db.execute(sql`select 1`);
}
