import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChangeKind } from "../../gen/customerinventory/v1/resources_pb.js";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "../../gen/grpc/health/v1/health_pb.js";
import {
  type Cluster,
  type ClusterNode,
  missingClusterTools,
  startCluster,
} from "../../scripts/cluster.js";
import {
  type ClusterClients,
  type ClusterLoadReport,
  CONSISTENCY_TOKEN,
  clusterClientsOf,
  startClusterLoad,
} from "../support/cluster-load.js";
import { callError } from "../support/errors.js";
import { type ServiceProcess, startServiceProcess } from "../support/process.js";
import { toolsPresent } from "../support/tools.js";
import { until } from "../support/until.js";

// The service on a highly available PostgreSQL cluster (scripts/cluster.ts: Patroni, etcd,
// three PostgreSQL 15 nodes, synchronous replication): writes find the primary, reads go to
// standbys, a consistency token reads one's own writes, and a failover (the primary's machine
// lost) or a switchover loses no acknowledged write and no change of the feed.

const present = toolsPresent(
  "HA cluster",
  missingClusterTools(),
  "apt-get install patroni etcd-server python3-etcd postgresql-15",
);

const TOKEN = CONSISTENCY_TOKEN;
/** Each call's deadline: a call that takes longer (a hang) fails the failover test. */
const CALL_DEADLINE_MS = 4_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Clients = ClusterClients;

/** A counter of /metrics, by its labels as written there (e.g. `{target="standby"}`). */
async function metric(api: Clients, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${api.port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : 0;
}
const standbyReads = (api: Clients) => metric(api, 'db_reads_total{target="standby"}');
const primaryReads = (api: Clients) => metric(api, 'db_reads_total{target="primary"}');

let cluster: Cluster;
let services: ServiceProcess[] = [];
let a: Clients;
let b: Clients;

/** Superuser SQL on one node. */
async function onNode<T>(node: ClusterNode, work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(cluster.superuserUrl(node), { max: 1, onnotice: () => {} });
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}
/** The application's SQL on whichever node is the primary. */
const onPrimary = <T>(work: (sql: postgres.Sql) => Promise<T>) =>
  (async () => onNode(await cluster.leader(), work))();

const standbys = async () => {
  const leader = await cluster.leader();
  return cluster.nodes.filter((n) => n.name !== leader.name);
};

async function createWithToken(api: Clients, name: string) {
  let token = "";
  const res = await api.inventory.createCustomer(
    { customer: { name } },
    { onHeader: (h) => (token = h.get(TOKEN) ?? "") },
  );
  return { customer: res.customer, token };
}

const names = async (api: Clients, filter: string, token?: string) =>
  (
    await api.inventory.listCustomers(
      { filter, pageSize: 1000 },
      token ? { headers: { [TOKEN]: token } } : {},
    )
  ).customers.map((c) => c.name);

const startLoad = (tag: string) =>
  startClusterLoad({ tag, apis: [a, b], onPrimary, deadlineMs: CALL_DEADLINE_MS });

function expectNothingLost(report: ClusterLoadReport) {
  expect(report.acknowledgedCreates).toBeGreaterThan(0);
  expect(report.missing).toEqual([]);
  expect(report.unexpected).toEqual([]);
  expect(report.wrongDescription).toEqual([]);
  expect(report.instanceDrift).toEqual([]);
  expect(report.feed.seen).toEqual(report.feed.committed);
}

describe.skipIf(!present)("the service on a three-node Patroni cluster", () => {
  beforeAll(async () => {
    cluster = await startCluster();
    const env = {
      DATABASE_URL: cluster.url,
      DATABASE_READ_URL: cluster.readUrl,
      NODE_ENV: "production",
      PAGE_TOKEN_SECRET: "a-page-token-key-shared-by-the-cluster-tests",
      DB_POOL_SIZE: "6",
      REPLICA_MAX_LAG_MS: "1000",
      // Without the feed's fallback poll slowing it: LISTEN follows the primary too.
      CHANGE_POLL_MS: "200",
    };
    // Both start together on the empty database: they race to migrate it.
    services = await Promise.all([startServiceProcess(env), startServiceProcess(env)]);
    [a, b] = services.map((s) => clusterClientsOf(s.port)) as [Clients, Clients];
  }, 120_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop("SIGTERM")));
    await cluster?.stop();
  }, 60_000);

  it("passes the service's invariant suites with the cluster's primary as their database", async () => {
    // The same tests as on one PostgreSQL, now with synchronous replication under every
    // commit: concurrency invariants, three service processes on one database, the rules of
    // customers, instances, request ids and the change feed.
    const suites = [
      "test/integration/concurrency.test.ts",
      "test/integration/replicas.test.ts",
      "test/service/customers.test.ts",
      "test/service/service-instances.test.ts",
      "test/service/idempotency.test.ts",
      "test/service/changes.test.ts",
    ];
    const leader = await cluster.leader();
    const report = path.join(cluster.dir, "invariants.json");
    const root = path.resolve(import.meta.dirname, "../..");
    await promisify(execFile)(
      process.execPath,
      [path.join(root, "node_modules/vitest/vitest.mjs"), "run", ...suites],
      {
        cwd: root,
        timeout: 240_000,
        maxBuffer: 64 * 1024 * 1024,
        env: {
          ...process.env,
          TEST_DATABASE_URL: cluster.superuserUrl(leader).replace(/\/[^/]*$/, "/postgres"),
          VITEST_JSON_REPORT: report,
          // This runs in the cluster pass; the child is an ordinary one.
          VITEST_CLUSTER: "",
        },
      },
    ).catch((err: { stdout?: string }) => {
      throw new Error(`the invariant suites failed on the cluster:\n${err.stdout?.slice(-4000)}`);
    });
    const result = JSON.parse(readFileSync(report, "utf8")) as {
      numPassedTests: number;
      numFailedTests: number;
      numTotalTestSuites: number;
    };
    expect(result.numFailedTests).toBe(0);
    expect(result.numPassedTests).toBeGreaterThan(50);
  }, 300_000);

  it("keeps the service's rules: writes on the primary, reads on standbys, tokens, instances, page tokens", async () => {
    const { customer, token } = await createWithToken(a, "Cluster Networks");
    expect(token).toMatch(/^c1\.[0-9a-f]+$/);
    // Read your write on the other process, wherever it is served.
    expect(await names(b, 'name = "Cluster Networks"', token)).toEqual(["Cluster Networks"]);
    const id = customer?.id ?? "";
    const instance = await a.instances.createServiceInstance({
      serviceInstance: { customerId: id, name: "vpn-1", serviceType: "L3VPN" },
    });
    let instanceToken = "";
    await a.inventory.updateCustomer(
      { customer: { id, description: "on three nodes" }, updateMask: { paths: ["description"] } },
      { onHeader: (h) => (instanceToken = h.get(TOKEN) ?? "") },
    );
    const read = await b.inventory.getCustomer({ id }, { headers: { [TOKEN]: instanceToken } });
    // The history, read on a standby, has every change, newest first.
    const history = await b.inventory.listCustomerChanges(
      { customerId: id },
      { headers: { [TOKEN]: instanceToken } },
    );
    expect(history.changes.map((c) => c.kind)).toEqual([
      ChangeKind.CUSTOMER_UPDATED,
      ChangeKind.SERVICE_INSTANCE_CREATED,
      ChangeKind.CUSTOMER_CREATED,
    ]);
    expect(read.customer?.description).toBe("on three nodes");
    expect(read.customer?.serviceInstanceCount).toBe(1);
    // The delete precondition is read on the primary: never "deleted" from a stale standby.
    const refused = await callError(() => b.inventory.deleteCustomer({ id }));
    expect(refused.code).toBe(Code.FailedPrecondition);
    await a.instances.deleteServiceInstance({ id: instance.serviceInstance?.id ?? "" });

    // Page tokens signed by one process walk on the other, over standbys.
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        a.inventory.createCustomer({ customer: { name: `paged ${String(i).padStart(2, "0")}` } }),
      ),
    );
    await sleep(300);
    const seen: string[] = [];
    let pageToken = "";
    for (let page = 0; ; page++) {
      const api = page % 2 === 0 ? a : b;
      const res = await api.inventory.listCustomers({
        filter: 'name = "paged*"',
        pageSize: 5,
        pageToken,
      });
      seen.push(...res.customers.map((c) => c.name));
      pageToken = res.nextPageToken;
      if (!pageToken) break;
    }
    expect(seen).toEqual(
      Array.from({ length: 12 }, (_, i) => `paged ${String(i).padStart(2, "0")}`),
    );
    // Token-less reads went to standbys (the standbys were current).
    expect(await standbyReads(b)).toBeGreaterThan(0);

    // A malformed token is the caller's error.
    const bad = await callError(() =>
      b.inventory.listCustomers({}, { headers: { [TOKEN]: "not-a-token" } }),
    );
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.reason).toBe("INVALID_CONSISTENCY_TOKEN");
  });

  it("reads its own writes on a lagging standby, and does not read past the lag bound without a token", async () => {
    const paused = await standbys();
    await cluster.setMaintenance(true);
    for (const node of paused) await onNode(node, (sql) => sql`select pg_wal_replay_pause()`);
    try {
      const { token } = await createWithToken(a, "Lagging Networks");
      const fromPrimary = await primaryReads(b);
      // With the token: the standbys have not replayed it, so the primary answers.
      expect(await names(b, 'name = "Lagging Networks"', token)).toEqual(["Lagging Networks"]);
      expect(await primaryReads(b)).toBe(fromPrimary + 1);
      // Without: a standby may be up to REPLICA_MAX_LAG_MS behind, no more. Past that the
      // paused standbys are not used, and the read sees the write.
      await sleep(1_300);
      const before = await standbyReads(b);
      expect(await names(b, 'name = "Lagging Networks"')).toEqual(["Lagging Networks"]);
      expect(await standbyReads(b)).toBe(before);
    } finally {
      for (const node of paused) await onNode(node, (sql) => sql`select pg_wal_replay_resume()`);
      await cluster.setMaintenance(false);
    }
    // Caught up again, token-less reads go back to the standbys.
    await until(
      async () => {
        const before = await standbyReads(b);
        await names(b, 'name = "Lagging Networks"');
        return (await standbyReads(b)) > before;
      },
      10_000,
      "reads on standbys after replay resumed",
    );
  });

  it("reconnects to the primary after its connection died mid-statement (postgres.js as patched)", async () => {
    // The trap of ../shared/research/ha-cluster.md: a statement's connection is terminated
    // (57P01 arrives, then the socket closes); the reconnect goes to the next host of the
    // URL, a standby. Unpatched, the stale error skips the target_session_attrs check and
    // the connection stays on the standby.
    const leader = await cluster.leader();
    const [standby] = await standbys();
    if (!standby) throw new Error("no standby");
    const url = cluster
      .superuserUrl(leader)
      .replace(
        `127.0.0.1:${leader.pgPort}`,
        `127.0.0.1:${leader.pgPort},127.0.0.1:${standby.pgPort}`,
      );
    const sql = postgres(`${url}?target_session_attrs=primary`, {
      max: 1,
      onnotice: () => {},
      connection: { application_name: "stranded-probe" },
    });
    try {
      expect((await sql`select pg_is_in_recovery() as standby`)[0]?.standby).toBe(false);
      const sleeping = sql`select pg_sleep(30)`.catch((err: { code?: string }) => err.code);
      await until(async () => {
        const [row] = await onNode(
          leader,
          (admin) =>
            admin`select count(*)::int as n from pg_stat_activity
              where application_name = 'stranded-probe' and query like '%pg_sleep%'`,
        );
        return row?.n === 1;
      });
      await onNode(
        leader,
        (admin) =>
          admin`select pg_terminate_backend(pid) from pg_stat_activity
            where application_name = 'stranded-probe'`,
      );
      // Either the error arrived before the socket closed or the close came first.
      expect(["57P01", "CONNECTION_CLOSED"]).toContain(await sleeping);
      for (let i = 0; i < 3; i++) {
        const [row] = await sql`select pg_is_in_recovery() as standby`;
        expect(row?.standby).toBe(false);
      }
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  it("loses no acknowledged write and no change when the primary's machine is lost under load", async () => {
    const load = startLoad("failover");
    await load.running();
    // Health, asked every 200 ms: NOT_SERVING only while no primary can take writes.
    const health = createClient(
      Health,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${a.port}` }),
    );
    const statuses: { at: number; status: Status | "error" }[] = [];
    let watching = true;
    const healthWatch = (async () => {
      while (watching) {
        const status = await health.check({}, { timeoutMs: 1_000 }).then(
          (r) => r.status,
          () => "error" as const,
        );
        statuses.push({ at: Date.now(), status });
        await sleep(200);
      }
    })();
    const leader = await cluster.leader();
    const killedAt = Date.now();
    cluster.killNode(leader);
    // Watch Patroni promote a standby.
    let promotedAt: number | undefined;
    await until(
      async () => {
        const next = (await cluster.members()).find(
          (m) => m.role === "leader" && m.state === "running" && m.name !== leader.name,
        );
        if (next) promotedAt = Date.now();
        return next !== undefined;
      },
      60_000,
      "a new leader",
    );
    await load.writesSucceedSince(promotedAt as number);
    await sleep(2_000);
    const gap = load.longestWriteGap(killedAt - 1_000);
    watching = false;
    await healthWatch;
    const result = await load.stop();

    // Every call ended in time, successful or retryable.
    expect(result.slowest).toBeLessThan(CALL_DEADLINE_MS + 1_000);
    expect(Object.keys(result.outcomes).sort()).toEqual(
      Object.keys(result.outcomes)
        .filter((code) => ["OK", "UNAVAILABLE", "ABORTED"].includes(code))
        .sort(),
    );
    expect(result.outcomes.UNAVAILABLE ?? 0).toBeGreaterThan(0);
    // Writes came back within the failover plus a few seconds (synchronous_mode_strict:
    // commits wait until the other standby is attached as synchronous, ~5 s measured).
    expect(gap).toBeLessThan((promotedAt as number) - killedAt + 10_000);
    expectNothingLost(await load.verify());
    const notServing = statuses.filter((s) => s.status !== Status.SERVING);
    expect(notServing.length).toBeGreaterThan(0);
    expect(notServing.every((s) => s.at >= killedAt && s.at <= killedAt + gap + 2_000)).toBe(true);
    expect(statuses.at(-1)?.status).toBe(Status.SERVING);

    // The old primary rejoins as a standby.
    cluster.startNode(leader);
    await until(
      async () =>
        (await cluster.members()).some(
          (m) =>
            m.name === leader.name && m.role !== "leader" && m.state === "running" && m.lag === 0,
        ),
      60_000,
      "the old primary streaming as a standby",
    );
    await cluster.waitHealthy();
    console.log(
      `failover: kill -> new leader ${(promotedAt as number) - killedAt} ms, longest gap between acknowledged writes ${gap} ms; calls ${JSON.stringify(result.outcomes)}`,
    );
  }, 150_000);

  it("switches over under load with nothing but retried UNAVAILABLE calls", async () => {
    await cluster.waitHealthy();
    const load = startLoad("switchover");
    await load.running();
    const leader = await cluster.leader();
    const sync = (await cluster.members()).find((m) => m.role === "sync_standby");
    const target = cluster.nodes.find((n) => n.name === sync?.name);
    if (!target) throw new Error("no synchronous standby");
    const at = Date.now();
    cluster.switchover(leader, target);
    await until(
      async () => (await cluster.leader()).name === target.name,
      30_000,
      "the switchover",
    );
    await load.writesSucceedSince(Date.now());
    const result = await load.stop();
    expect(result.slowest).toBeLessThan(CALL_DEADLINE_MS + 1_000);
    expect(
      Object.keys(result.outcomes).filter((code) => code !== "OK" && code !== "UNAVAILABLE"),
    ).toEqual([]);
    expectNothingLost(await load.verify());
    await until(
      async () =>
        (await cluster.members()).some(
          (m) => m.name === leader.name && m.role !== "leader" && m.state === "running",
        ),
      30_000,
      "the old leader back as a standby",
    );
    console.log(
      `switchover: longest gap between acknowledged writes ${load.longestWriteGap(at - 1_000)} ms; calls ${JSON.stringify(result.outcomes)}`,
    );
  }, 120_000);
});
