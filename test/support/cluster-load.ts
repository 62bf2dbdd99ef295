import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type postgres from "postgres";
import { CustomerInventoryService } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { ServiceInstanceService } from "../../gen/customerinventory/v1/service_instance_service_pb.js";
import { until } from "./until.js";

// A load for the service on a cluster, shared by test/integration/ha-cluster.test.ts and
// bench/cluster.ts: it records what was acknowledged, so that what a failover lost, repeated
// or reordered can be counted afterwards.

export const CONSISTENCY_TOKEN = "x-consistency-token";

export const clusterClientsOf = (port: number) => {
  const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` });
  return {
    inventory: createClient(CustomerInventoryService, transport),
    instances: createClient(ServiceInstanceService, transport),
    port,
  };
};
export type ClusterClients = ReturnType<typeof clusterClientsOf>;

/** A Connect code as gRPC spells it: UNAVAILABLE, not Unavailable. */
export const codeName = (code: Code) =>
  Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ClusterLoadOptions {
  /** Names the load's customers, so that two loads on one database keep apart. */
  tag: string;
  /** The service processes, called in turn (a retry goes to the other). */
  apis: ClusterClients[];
  /** SQL on the current primary, for verify(). */
  onPrimary: <T>(work: (sql: postgres.Sql) => Promise<T>) => Promise<T>;
  /** Each call's deadline. */
  deadlineMs: number;
  writers?: number;
  readers?: number;
}

/** What verify() found: every list empty and `feedInOrder` true when nothing was lost. */
export interface ClusterLoadReport {
  acknowledgedCreates: number;
  /** Acknowledged creates missing from the table, or there with another id. */
  missing: string[];
  /** Customers created that were never acknowledged as such (a repeated request id). */
  unexpected: string[];
  /** Customers whose description is not their last acknowledged update. */
  wrongDescription: string[];
  /** Customers with more or fewer instances than acknowledged, or a drifted count. */
  instanceDrift: string[];
  /** The watcher saw exactly the load's committed changes, in order, none twice. */
  feedInOrder: boolean;
  feed: { committed: bigint[]; seen: bigint[] };
}

export function startClusterLoad(options: ClusterLoadOptions) {
  const { tag, apis, onPrimary, deadlineMs: CALL_DEADLINE_MS } = options;
  const TOKEN = CONSISTENCY_TOKEN;
  let stopping = false;
  const outcomes: Record<string, number> = {};
  let slowest = 0;
  const writeSuccesses: number[] = [];
  const created = new Map<string, { id: string; requestId: string }>();
  const descriptions = new Map<string, string>();
  const instancesOf = new Map<string, number>();
  let newestToken = "";

  async function call<T>(
    work: (api: ClusterClients, signal: AbortSignal) => Promise<T>,
    i: number,
    isWrite = true,
  ) {
    for (let attempt = 0; ; attempt++) {
      const started = Date.now();
      try {
        const result = await work(
          apis[(i + attempt) % apis.length] as ClusterClients,
          AbortSignal.timeout(CALL_DEADLINE_MS),
        );
        outcomes.OK = (outcomes.OK ?? 0) + 1;
        if (isWrite) writeSuccesses.push(Date.now());
        return result;
      } catch (err) {
        // Every outcome is counted, and the call tried again: what a failover must not
        // produce (INTERNAL, DEADLINE_EXCEEDED, a client-side timeout) shows in `outcomes`.
        const code = codeName(ConnectError.from(err).code);
        outcomes[code] = (outcomes[code] ?? 0) + 1;
        if (stopping && code !== "UNAVAILABLE" && code !== "ABORTED") throw err;
        await sleep(100);
      } finally {
        slowest = Math.max(slowest, Date.now() - started);
      }
    }
  }
  const remember = (h: Headers) => {
    const token = h.get(TOKEN);
    if (token) newestToken = token;
  };

  const writer = async (w: number) => {
    for (let n = 0; !stopping; n++) {
      const requestId = `${tag}-w${w}-${n}`;
      const name = `${tag} writer ${w} customer ${n}`;
      const res = await call(
        (api, signal) =>
          api.inventory.createCustomer(
            { customer: { name }, requestId },
            { signal, timeoutMs: CALL_DEADLINE_MS, onHeader: remember },
          ),
        w + n,
      );
      const id = res.customer?.id ?? "";
      created.set(name, { id, requestId });
      const description = `update ${n}`;
      await call(
        (api, signal) =>
          api.inventory.updateCustomer(
            { customer: { id, description }, updateMask: { paths: ["description"] } },
            { signal, timeoutMs: CALL_DEADLINE_MS, onHeader: remember },
          ),
        w + n,
      );
      descriptions.set(id, description);
      if (n % 3 === 0) {
        await call(
          (api, signal) =>
            api.instances.createServiceInstance(
              {
                serviceInstance: { customerId: id, name: "vpn", serviceType: "L3VPN" },
                requestId: `${requestId}-instance`,
              },
              { signal, timeoutMs: CALL_DEADLINE_MS, onHeader: remember },
            ),
          w + n,
        );
        instancesOf.set(id, 1);
      }
    }
  };

  const reader = async (r: number) => {
    for (let n = 0; !stopping; n++) {
      // Reader 0, 2, ... reads its writes (the newest token); the others read without one.
      const token = r % 2 === 0 ? newestToken : "";
      await call(
        (api, signal) =>
          api.inventory.listCustomers(
            { filter: `name = "${tag} writer*"`, pageSize: 50 },
            { signal, timeoutMs: CALL_DEADLINE_MS, headers: token ? { [TOKEN]: token } : {} },
          ),
        r + n,
        false,
      );
      await sleep(20);
    }
  };

  // The feed, followed from the start of the load, reconnecting with its cursor.
  const watched: { sequence: bigint; customerId: string }[] = [];
  const watchAbort = new AbortController();
  let startCursor: string | undefined;
  const watcher = (async () => {
    let cursor = "";
    for (let attempt = 0; !watchAbort.signal.aborted; attempt++) {
      try {
        const api = apis[attempt % apis.length] as ClusterClients;
        for await (const message of api.inventory.watchCustomerChanges(
          { startAfter: cursor },
          { signal: watchAbort.signal },
        )) {
          for (const { sequence, customerId } of message.changes) {
            watched.push({ sequence, customerId });
          }
          cursor = message.cursor;
          startCursor ??= cursor;
        }
      } catch {
        await sleep(200);
      }
    }
  })();

  let writers: Promise<unknown> | undefined;
  let readers: Promise<unknown> | undefined;
  const loadStarted = (async () => {
    await until(() => startCursor !== undefined, 10_000, "the watch stream");
    writers = Promise.all(Array.from({ length: options.writers ?? 8 }, (_, w) => writer(w)));
    readers = Promise.all(Array.from({ length: options.readers ?? 2 }, (_, r) => reader(r)));
  })();

  return {
    /** Resolves once the load has run for a second with writes succeeding. */
    async running() {
      await loadStarted;
      await until(() => created.size > 0, 10_000, "a first acknowledged create");
      await sleep(1_500);
    },
    /** The longest time without an acknowledged write since `from`: the unavailability. */
    longestWriteGap(from: number) {
      const times = writeSuccesses.filter((t) => t >= from);
      let longest = 0;
      for (let i = 1; i < times.length; i++) {
        longest = Math.max(longest, (times[i] as number) - (times[i - 1] as number));
      }
      return longest;
    },
    async writesSucceedSince(at: number) {
      await until(
        () => writeSuccesses.filter((t) => t > at).length >= 20,
        30_000,
        "writes succeeding again",
      );
    },
    async stop() {
      stopping = true;
      await Promise.all([writers, readers]);
      return { outcomes, slowest };
    },
    /** Compares everything acknowledged with the tables, and the feed with the watcher. */
    async verify(): Promise<ClusterLoadReport> {
      const rows = await onPrimary(
        (sql) =>
          sql<
            {
              id: string;
              name: string;
              description: string;
              service_instance_count: number;
              instances: number;
            }[]
          >`
            select c.id, c.name, c.description, c.service_instance_count,
              (select count(*)::int from service_instances s where s.customer_id = c.id) as instances
            from customers c where c.name like ${`${tag} writer %`}`,
      );
      const byName = new Map(rows.map((r) => [r.name, r]));
      const missing = [...created].filter(([name, { id }]) => byName.get(name)?.id !== id);
      const unexpected = rows.filter((r) => !created.has(r.name)).map((r) => r.name);
      // The last acknowledged update, and instances as acknowledged (none twice), and
      // service_instance_count equal to the instances.
      const wrongDescription = rows
        .filter((r) => r.description !== (descriptions.get(r.id) ?? ""))
        .map((r) => r.name);
      const instanceDrift = rows
        .filter(
          (r) =>
            r.instances !== (instancesOf.get(r.id) ?? 0) ||
            r.service_instance_count !== r.instances,
        )
        .map((r) => r.name);
      // The feed: once the watcher has caught up, exactly the committed changes of the
      // load's customers (all made after the watch started), in order, none twice.
      const ids = new Set(rows.map((r) => r.id));
      const expected = (
        await onPrimary(
          (sql) =>
            sql<{ position: string }[]>`
              select sequence::text as position from customer_changes
              where customer_id in ${sql([...ids])} order by sequence`,
        )
      ).map((r) => BigInt(r.position));
      const seen = () => watched.filter((c) => ids.has(c.customerId)).map((c) => c.sequence);
      await until(() => seen().length >= expected.length, 20_000, "the watcher to catch up").catch(
        () => {},
      );
      watchAbort.abort();
      await watcher;
      const got = seen();
      return {
        acknowledgedCreates: created.size,
        missing: missing.map(([name]) => name),
        unexpected,
        wrongDescription,
        instanceDrift,
        feedInOrder: got.length === expected.length && got.every((s, i) => s === expected[i]),
        feed: { committed: expected, seen: got },
      };
    },
  };
}
