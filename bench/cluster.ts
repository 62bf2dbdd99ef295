// The service on a three-node Patroni cluster (scripts/cluster.ts), measured for
// docs/scaling.md: two service processes with DATABASE_READ_URL, the load of
// test/support/cluster-load.ts (8 writers, 2 readers with the newest consistency token, a
// change-feed watcher), then
//   - steady state: write rate, share of reads served by standbys, the standbys' lag;
//   - failovers (the primary's machine lost: Patroni and postmaster killed with SIGKILL):
//     time to a new leader, the longest gap between acknowledged writes, what was lost;
//   - a switchover (patronictl): the same.
//
//   npm run bench:cluster [-- --failovers 3]
import postgres from "postgres";
import { type ClusterNode, startCluster } from "../scripts/cluster.js";
import {
  type ClusterClients,
  clusterClientsOf,
  startClusterLoad,
} from "../test/support/cluster-load.js";
import { type ServiceProcess, startServiceProcess } from "../test/support/process.js";
import { until } from "../test/support/until.js";

const flag = process.argv.indexOf("--failovers");
const FAILOVERS = flag > 0 ? Number(process.argv[flag + 1]) : 3;
const DEADLINE_MS = 4_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function metrics(api: ClusterClients): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${api.port}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("db_")) continue;
    const [name, value] = line.split(" ");
    values.set(name as string, Number(value));
  }
  return values;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

async function main() {
  console.error("starting the cluster ...");
  const clusterStart = Date.now();
  const cluster = await startCluster();
  const startupMs = Date.now() - clusterStart;
  const env = {
    DATABASE_URL: cluster.url,
    DATABASE_READ_URL: cluster.readUrl,
    NODE_ENV: "production",
    PAGE_TOKEN_SECRET: "a-page-token-key-for-the-cluster-benchmark",
    DB_POOL_SIZE: "6",
  };
  const services: ServiceProcess[] = [];
  const onPrimary = async <T>(work: (sql: postgres.Sql) => Promise<T>) => {
    const sql = postgres(cluster.nodeUrl(await cluster.leader()), { max: 1, onnotice: () => {} });
    try {
      return await work(sql);
    } finally {
      await sql.end({ timeout: 1 });
    }
  };
  const rows: string[] = [];
  try {
    services.push(...(await Promise.all([startServiceProcess(env), startServiceProcess(env)])));
    const apis = services.map((s) => clusterClientsOf(s.port));
    // Steady state.
    const steady = startClusterLoad({ tag: "steady", apis, onPrimary, deadlineMs: DEADLINE_MS });
    await steady.running();
    const before = await Promise.all(apis.map(metrics));
    const lags: number[] = [];
    const steadyStart = Date.now();
    while (Date.now() - steadyStart < 10_000) {
      const m = await metrics(apis[1] as ClusterClients);
      for (const [name, value] of m) {
        if (name.startsWith("db_replica_lag_seconds")) lags.push(value * 1000);
      }
      await sleep(100);
    }
    const after = await Promise.all(apis.map(metrics));
    const steadyResult = await steady.stop();
    const reads = (which: string) =>
      after.reduce((sum, m, i) => sum + (m.get(which) ?? 0) - (before[i]?.get(which) ?? 0), 0);
    const standby = reads('db_reads_total{target="standby"}');
    const primary = reads('db_reads_total{target="primary"}');
    const steadyReport = await steady.verify();
    console.error(`steady: ${JSON.stringify(steadyResult.outcomes)}`);

    const events: string[] = [];
    const event = async (kind: "failover" | "switchover", index: number) => {
      await cluster.waitHealthy(90_000);
      const load = startClusterLoad({
        tag: `${kind}${index}`,
        apis,
        onPrimary,
        deadlineMs: DEADLINE_MS,
      });
      await load.running();
      const leader = await cluster.leader();
      const at = Date.now();
      let target: ClusterNode | undefined;
      if (kind === "failover") {
        cluster.killNode(leader);
      } else {
        const sync = (await cluster.members()).find((m) => m.role === "sync_standby");
        target = cluster.nodes.find((n) => n.name === sync?.name);
        if (!target) throw new Error("no synchronous standby");
        cluster.switchover(leader, target);
      }
      let promotedMs = Number.NaN;
      await until(
        async () => {
          const next = (await cluster.members()).find(
            (m) => m.role === "leader" && m.state === "running" && m.name !== leader.name,
          );
          if (next) promotedMs = Date.now() - at;
          return next !== undefined;
        },
        60_000,
        "a new leader",
      );
      await load.writesSucceedSince(Date.now());
      await sleep(1_000);
      const gap = load.longestWriteGap(at - 1_000);
      const result = await load.stop();
      const report = await load.verify();
      if (kind === "failover") cluster.startNode(leader);
      const lost = report.missing.length + report.wrongDescription.length;
      events.push(
        `| ${kind} ${index + 1} | ${(promotedMs / 1000).toFixed(1)} s | ${(gap / 1000).toFixed(1)} s | ${report.acknowledgedCreates} | ${lost} | ${report.unexpected.length + report.instanceDrift.length} | ${report.feedInOrder ? "yes" : "**no**"} | ${Object.entries(
          result.outcomes,
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")} |`,
      );
      console.error(events.at(-1));
    };
    for (let i = 0; i < FAILOVERS; i++) await event("failover", i);
    await event("switchover", 0);

    rows.push(
      `Cluster start (etcd + 3 nodes healthy, database created): ${(startupMs / 1000).toFixed(1)} s`,
      "",
      "Steady state, 10 s, 8 writers + 2 readers over 2 service processes:",
      "",
      "| acknowledged creates | reads on standbys | reads on the primary | standby share | lag p50 | lag p99 | lag max | lost |",
      "|---:|---:|---:|---:|---:|---:|---:|---:|",
      `| ${steadyReport.acknowledgedCreates} | ${standby} | ${primary} | ${((100 * standby) / Math.max(1, standby + primary)).toFixed(0)} % | ${percentile(lags, 50).toFixed(0)} ms | ${percentile(lags, 99).toFixed(0)} ms | ${Math.max(...lags).toFixed(0)} ms | ${steadyReport.missing.length} |`,
      "",
      "| event | new leader after | longest write gap | acknowledged creates | acknowledged writes lost | repeated or drifted | feed exact | calls |",
      "|---|---:|---:|---:|---:|---:|---|---|",
      ...events,
    );
  } finally {
    await Promise.all(services.map((s) => s.stop("SIGTERM")));
    await cluster.stop();
  }
  console.log(rows.join("\n"));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
