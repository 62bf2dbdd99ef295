/**
 * The change feed's cost and speed, side by side in one run (see docs/benchmarks.md):
 * - what recording costs: CreateCustomer and UpdateCustomer at 16 callers against the service
 *   as built here and against the same service at BASELINE (the commit before the feed,
 *   compiled in a scratch worktree: the feed has no switch to turn it off), alternating run
 *   by run, each server on CPU 0, the load (bench/create-load.ts) on CPU 1;
 * - delivery: commit-to-watcher latency (bench/watch-load.ts) with 1, 100 and 1,000
 *   watchers while RATE changes a second are written.
 * Both servers run compiled JavaScript against databases of their own on one embedded
 * PostgreSQL.
 *
 *   npm run bench:feed   (BASELINE=45d8267 DURATION=10 REPS=3 WATCHERS="1 100 1000" RATE=100
 *                         PARTS="recording delivery")
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { startEmbeddedPostgres } from "../src/store/embedded-postgres.js";
import { median, runOnCpu1 } from "./h2load.js";
import { buildHereAndAt, removeWorktree, type Server, startServiceOnCpu0 } from "./servers.js";

const BASELINE = process.env.BASELINE ?? "45d8267";
const DURATION = Number(process.env.DURATION ?? 10);
const REPS = Number(process.env.REPS ?? 3);
const WATCHERS = (process.env.WATCHERS ?? "1 100 1000").split(" ").map(Number);
const RATE = Number(process.env.RATE ?? 100);
const PARTS = (process.env.PARTS ?? "recording delivery").split(" ");
const root = path.resolve(import.meta.dirname, "..");

/** CPU time (user + system) the process has used, in milliseconds. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** A run of `rpc` against `server`, with the server's CPU time per call. */
async function load(server: Server, rpc: "create" | "update") {
  const pid = server.child.pid as number;
  const before = cpuMs(pid);
  const result = await loadOnly(server, rpc);
  // The run includes a second of warm-up (and for updates 64 creates): counted in, a little high.
  return { ...result, cpuUs: ((cpuMs(pid) - before) * 1000) / (result.rps * (DURATION + 1)) };
}

function loadOnly(server: Server, rpc: "create" | "update") {
  return runOnCpu1<{ rps: number; p50: number; p99: number; failed: number }>(
    "bench/create-load.ts",
    [server.port, "grpc", 16, DURATION, rpc],
  );
}

function watchLoad(server: Server, watchers: number) {
  return runOnCpu1<{
    writes: number;
    failed: number;
    deliveries: number;
    missing: number;
    p50: number;
    p99: number;
    max: number;
    writeRate: number;
  }>("bench/watch-load.ts", [server.port, watchers, RATE, DURATION]);
}

const fixed = (n: number, digits = 1) => n.toFixed(digits);

async function main() {
  const scratch = mkdtempSync(path.join(tmpdir(), "bench-feed-"));
  // Reachable by the postgres user when this runs as root: the cluster stays in here.
  chmodSync(scratch, 0o755);
  const worktree = path.join(scratch, "baseline");
  const servers: Server[] = [];
  const pg = await startEmbeddedPostgres({
    dataDir: path.join(scratch, "pg"),
    database: "postgres",
    onLog: () => {},
  });
  try {
    console.log(`building the service here and at ${BASELINE} (the service before the feed)…`);
    const built = buildHereAndAt(root, BASELINE, worktree);

    const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
    for (const db of ["with_feed", "baseline"]) await admin.unsafe(`create database ${db}`);
    await admin.end();
    const urlOf = (db: string) => {
      const u = new URL(pg.url);
      u.pathname = `/${db}`;
      return u.toString();
    };
    const withFeed = await startServiceOnCpu0(
      "with-feed",
      path.join(root, "dist/src/main.js"),
      { DATABASE_URL: urlOf("with_feed") },
      scratch,
    );
    servers.push(withFeed);
    const baseline = await startServiceOnCpu0(
      "baseline",
      built.main,
      { DATABASE_URL: urlOf("baseline") },
      scratch,
    );
    servers.push(baseline);

    if (PARTS.includes("recording")) await recordingCost(baseline, withFeed);
    if (PARTS.includes("delivery")) await deliveryLatency(withFeed);
  } finally {
    for (const s of servers) s.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 1_000));
    await pg.stop();
    removeWorktree(root, worktree);
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function recordingCost(baseline: Server, withFeed: Server) {
  console.log(
    `\n## Recording cost: gRPC, 16 callers, ${DURATION} s per run, ${REPS} runs each, alternating`,
  );
  console.log(
    "| call | without the feed (calls/s) | with the feed (calls/s) | ratio | p99 without / with (ms) | server CPU per call without / with (µs) |",
  );
  console.log("|---|---|---|---|---|---|");
  for (const rpc of ["create", "update"] as const) {
    const results: Record<string, { rps: number[]; p99: number[]; cpu: number[] }> = {
      baseline: { rps: [], p99: [], cpu: [] },
      "with-feed": { rps: [], p99: [], cpu: [] },
    };
    for (let rep = 0; rep < REPS; rep++) {
      for (const server of rep % 2 === 0 ? [baseline, withFeed] : [withFeed, baseline]) {
        const r = await load(server, rpc);
        if (r.failed > 0) throw new Error(`${server.name} ${rpc}: ${r.failed} calls failed`);
        results[server.name]?.rps.push(r.rps);
        results[server.name]?.p99.push(r.p99);
        results[server.name]?.cpu.push(r.cpuUs);
      }
    }
    const without = median(results.baseline?.rps ?? []);
    const withIt = median(results["with-feed"]?.rps ?? []);
    console.log(
      `| ${rpc === "create" ? "CreateCustomer" : "UpdateCustomer"} | ${fixed(without, 0)} | ${fixed(withIt, 0)} | ${fixed(withIt / without, 2)} | ${fixed(median(results.baseline?.p99 ?? []))} / ${fixed(median(results["with-feed"]?.p99 ?? []))} | ${fixed(median(results.baseline?.cpu ?? []), 0)} / ${fixed(median(results["with-feed"]?.cpu ?? []), 0)} |`,
    );
  }
}

async function deliveryLatency(withFeed: Server) {
  console.log(
    `\n## Delivery latency: ${RATE} creates/s for ${DURATION} s, commit acknowledged → watcher`,
  );
  console.log(
    "| watchers | creates/s reached | deliveries | missing | p50 (ms) | p99 (ms) | max (ms) |",
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const watchers of WATCHERS) {
    const r = await watchLoad(withFeed, watchers);
    console.log(
      `| ${watchers} | ${fixed(r.writeRate, 0)} | ${r.deliveries} | ${r.missing} | ${fixed(r.p50)} | ${fixed(r.p99)} | ${fixed(r.max)} |`,
    );
  }
}

await main();
