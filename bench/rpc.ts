/**
 * GetCustomer and CreateCustomer throughput and latency, side by side in one run: the
 * service over gRPC with the fast path on and off, over Connect binary on HTTP/2 and Connect
 * JSON on HTTP/1.1, and a plain @grpc/grpc-js server doing the same store calls
 * (bench/grpc-js-server.ts); pgbench running the service's insert gives PostgreSQL's own
 * rate. Then a soak: GetCustomer at 64 streams with creates alongside, the service's RSS
 * sampled throughout. Every server runs on CPU 0, the load on CPU 1. See docs/benchmarks.md.
 *
 *   npm run bench:rpc   (ROWS=1000000 DURATION=10 REPS=2 CONCURRENCY="1 16 64" SOAK=300)
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import postgres from "postgres";
import { GetCustomerRequestSchema } from "../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { startEmbeddedPostgres } from "../src/store/embedded-postgres.js";
import { migrateDatabase } from "../src/store/migrate.js";
import { loadCustomers } from "../test/support/synthetic-customers.js";
import {
  grpcFrame,
  median,
  readLatencyLog,
  requireH2load,
  runOnCpu1,
  summarize,
} from "./h2load.js";

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const DURATION = Number(process.env.DURATION ?? 10);
const REPS = Number(process.env.REPS ?? 2);
const CONCURRENCY = (process.env.CONCURRENCY ?? "1 16 64").split(" ").map(Number);
const SOAK = Number(process.env.SOAK ?? 300);
const SERVICE = "/customerinventory.v1.CustomerInventoryService";

type Protocol = "grpc" | "connect-proto" | "connect-json-http1";

interface Target {
  name: string;
  port: number;
  pid: number;
  protocol: Protocol;
}

/** Starts a server on CPU 0 with its stdout in a file; resolves once it names its port. */
async function startServer(
  args: string[],
  env: Record<string, string>,
  scratch: string,
  name: string,
  readyText = "database ready",
) {
  const log = path.join(scratch, `${name}.log`);
  const out = openSync(log, "w");
  const child: ChildProcess = spawn(
    "taskset",
    ["-c", "0", process.execPath, "--import", "tsx", ...args],
    {
      env: { ...process.env, ...env },
      stdio: ["ignore", out, "inherit"],
    },
  );
  for (let waited = 0; waited < 60_000; waited += 100) {
    const text = readFileSync(log, "utf8");
    const port = /"port":(\d+)/.exec(text)?.[1];
    if (port && text.includes(readyText)) return { child, port: Number(port) };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`${name} did not start`);
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Math.round(Number(match?.[1] ?? 0) / 1024);
}

/** GetCustomer from h2load on CPU 1: one connection, `concurrency` streams (HTTP/2) or connections (HTTP/1.1). */
async function h2load(target: Target, concurrency: number, seconds: number, scratch: string) {
  const log = path.join(scratch, "latency.tsv");
  rmSync(log, { force: true });
  const common = ["-t", "1", "-D", String(seconds), "--warm-up-time=1", `--log-file=${log}`];
  const shape = {
    grpc: [
      ["-c", "1", "-m", String(concurrency), "-d", path.join(scratch, "get.grpc")],
      ["-H", "content-type: application/grpc", "-H", "te: trailers"],
    ],
    "connect-proto": [
      ["-c", "1", "-m", String(concurrency), "-d", path.join(scratch, "get.proto")],
      ["-H", "content-type: application/proto"],
    ],
    "connect-json-http1": [
      ["--h1", "-c", String(concurrency), "-m", "1", "-d", path.join(scratch, "get.json")],
      ["-H", "content-type: application/json"],
    ],
  }[target.protocol].flat();
  const { stdout: output } = await promisify(execFile)(
    "taskset",
    [
      "-c",
      "1",
      "h2load",
      ...common,
      ...shape,
      `http://127.0.0.1:${target.port}${SERVICE}/GetCustomer`,
    ],
    { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
  );
  const rps = Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(output)?.[1] ?? Number.NaN);
  const failed = Number(/(\d+) failed/.exec(output)?.[1] ?? 0);
  return { rps, ...summarize(readLatencyLog(log)), failed };
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
}

/** CreateCustomer from bench/create-load.ts on CPU 1 (every create needs a name of its own). */
function createLoad(target: Target, concurrency: number, seconds: number) {
  return runOnCpu1<LoadResult>("bench/create-load.ts", [
    target.port,
    target.protocol,
    concurrency,
    seconds,
  ]);
}

/**
 * PostgreSQL's own rate for the service's insert (same columns, indexes and triggers, one
 * statement per customer, prepared), from pgbench on CPU 1.
 */
function pgbench(url: URL, concurrency: number, scratch: string) {
  const script = path.join(scratch, "insert.sql");
  writeFileSync(
    script,
    String.raw`\set r random(1, 999999999999)
INSERT INTO customers (id, name, name_key, reference_number, reference_key, description, description_key, search_text, etag)
SELECT id, 'Bench pgbench ' || id, 'bench pgbench ' || lower(id), 'CRM-' || id, 'crm-' || lower(id),
  'created by the CreateCustomer benchmark', 'created by the createcustomer benchmark',
  'bench pgbench ' || lower(id) || E'\n' || lower(id) || E'\ncrm-' || lower(id) || E'\ncreated by the createcustomer benchmark',
  'AAAAAAAAAAAAAAAA'
FROM (SELECT '01PGB' || :client_id || 'X' || :r AS id) AS fresh
ON CONFLICT DO NOTHING RETURNING *;
`,
  );
  const output = execFileSync(
    "taskset",
    [
      "-c",
      "1",
      "pgbench",
      "-n",
      "-M",
      "prepared",
      "-c",
      String(concurrency),
      "-j",
      "1",
      "-T",
      String(DURATION),
      "-f",
      script,
      "-h",
      url.hostname,
      "-p",
      url.port,
      "-U",
      decodeURIComponent(url.username),
      url.pathname.slice(1),
    ],
    { encoding: "utf8", env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) } },
  );
  const tps = Number(/tps = ([\d.]+)/.exec(output)?.[1] ?? Number.NaN);
  const latency = Number(/latency average = ([\d.]+) ms/.exec(output)?.[1] ?? Number.NaN);
  return { tps, latency };
}

/** Medians of several runs of each target at each concurrency. */
class Results {
  private runs = new Map<string, LoadResult[]>();
  add(target: string, concurrency: number, result: LoadResult) {
    const key = `${target}|${concurrency}`;
    this.runs.set(key, [...(this.runs.get(key) ?? []), result]);
  }
  get(target: string, concurrency: number) {
    const runs = this.runs.get(`${target}|${concurrency}`) ?? [];
    return {
      rps: median(runs.map((r) => r.rps)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      perRun: runs.map((r) => r.rps.toFixed(0)).join(" / "),
      failed: runs.reduce((n, r) => n + r.failed, 0),
    };
  }
}

function printTable(
  title: string,
  targets: Target[],
  results: Results,
  extra?: { header: string; cell: (concurrency: number, rps: number) => string },
) {
  const baseline = targets.find((t) => t.name.startsWith("plain"));
  console.log(`\n## ${title}\n`);
  console.log(
    `| server | concurrency | calls/s | p50 ms | p99 ms | calls/s per run | vs grpc-js (calls/s) |${extra ? ` ${extra.header} |` : ""}`,
  );
  console.log(`|---|---:|---:|---:|---:|---|---:|${extra ? "---:|" : ""}`);
  for (const concurrency of CONCURRENCY) {
    const base = baseline ? results.get(baseline.name, concurrency).rps : Number.NaN;
    for (const target of targets) {
      const r = results.get(target.name, concurrency);
      console.log(
        `| ${target.name} | ${concurrency} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.perRun} | ${(r.rps / base).toFixed(2)}x |${extra ? ` ${extra.cell(concurrency, r.rps)} |` : ""}`,
      );
      if (r.failed > 0) console.log(`(${r.failed} failed calls)`);
    }
  }
}

/** GetCustomer at 64 streams with creates at 16 alongside, RSS sampled every 10 s. */
async function soak(target: Target, scratch: string) {
  const samples: { second: number; rss: number }[] = [{ second: 0, rss: rssMiB(target.pid) }];
  const started = Date.now();
  const sampler = setInterval(() => {
    samples.push({ second: Math.round((Date.now() - started) / 1000), rss: rssMiB(target.pid) });
  }, 10_000);
  const creates = createLoad(target, 16, SOAK);
  const [gets, created] = await Promise.all([h2load(target, 64, SOAK, scratch), creates]);
  clearInterval(sampler);
  samples.push({ second: Math.round((Date.now() - started) / 1000), rss: rssMiB(target.pid) });
  return { gets, created, samples };
}

async function main() {
  requireH2load();
  const scratch = mkdtempSync(path.join(tmpdir(), "bench-rpc-"));
  const embedded = await startEmbeddedPostgres({
    dataDir: scratch,
    database: "postgres",
    persistent: false,
    settings: { shared_buffers: "1GB", jit: "off", max_wal_size: "8GB", max_connections: "200" },
  });
  const url = new URL(embedded.adminUrl);
  url.pathname = "/bench_rpc";
  const admin = postgres(embedded.adminUrl, { max: 1, onnotice: () => {} });
  await admin`create database bench_rpc`;
  await admin.end();
  const servers: ChildProcess[] = [];
  try {
    await migrateDatabase(url.toString());
    const loader = postgres(url.toString(), { max: 1, onnotice: () => {} });
    await loadCustomers(loader, ROWS);
    await loader.end();

    const id = `01J${String(Math.ceil(ROWS / 2)).padStart(23, "0")}`;
    const message = toBinary(GetCustomerRequestSchema, create(GetCustomerRequestSchema, { id }));
    writeFileSync(path.join(scratch, "get.grpc"), grpcFrame(message));
    writeFileSync(path.join(scratch, "get.proto"), message);
    writeFileSync(path.join(scratch, "get.json"), JSON.stringify({ id }));

    const env = { DATABASE_URL: url.toString(), PORT: "0", LOG_LEVEL: "info" };
    const fast = await startServer(["src/main.ts"], env, scratch, "fast");
    const slow = await startServer(
      ["src/main.ts"],
      { ...env, GRPC_FAST_PATH: "false" },
      scratch,
      "connect",
    );
    const plain = await startServer(
      ["bench/grpc-js-server.ts", url.toString()],
      {},
      scratch,
      "grpc-js",
      "listening",
    );
    servers.push(fast.child, slow.child, plain.child);
    const on = (server: { port: number; child: ChildProcess }) => ({
      port: server.port,
      pid: server.child.pid ?? 0,
    });
    const targets: Target[] = [
      { name: "service, gRPC, fast path", ...on(fast), protocol: "grpc" },
      { name: "service, gRPC, Connect's handler", ...on(slow), protocol: "grpc" },
      { name: "service, Connect binary, HTTP/2", ...on(fast), protocol: "connect-proto" },
      { name: "service, Connect JSON, HTTP/1.1", ...on(fast), protocol: "connect-json-http1" },
      { name: "plain @grpc/grpc-js, same store calls", ...on(plain), protocol: "grpc" },
    ];
    const rssBefore = rssMiB(fast.child.pid ?? 0);

    const gets = new Results();
    const creates = new Results();
    const inserts = new Map<number, { tps: number[]; latency: number[] }>();
    for (let rep = 0; rep < REPS; rep++) {
      for (const concurrency of CONCURRENCY) {
        for (const target of targets) {
          gets.add(target.name, concurrency, await h2load(target, concurrency, DURATION, scratch));
        }
        for (const target of targets) {
          creates.add(target.name, concurrency, await createLoad(target, concurrency, DURATION));
        }
        const insert = pgbench(url, concurrency, scratch);
        const entry = inserts.get(concurrency) ?? { tps: [], latency: [] };
        entry.tps.push(insert.tps);
        entry.latency.push(insert.latency);
        inserts.set(concurrency, entry);
      }
    }
    const rssAfter = rssMiB(fast.child.pid ?? 0);

    const runs = `${REPS} runs of ${DURATION} s each, interleaved; medians`;
    console.log("concurrency: streams on one HTTP/2 connection; HTTP/1.1 connections");
    printTable(`GetCustomer at ${ROWS} customers: ${runs}`, targets, gets);
    const pgbenchTps = (concurrency: number) => median(inserts.get(concurrency)?.tps ?? []);
    printTable(`CreateCustomer: ${runs}`, targets, creates, {
      header: "vs pgbench insert",
      cell: (concurrency, rps) => `${(rps / pgbenchTps(concurrency)).toFixed(2)}x`,
    });
    console.log("\n## PostgreSQL's own insert rate (pgbench, the service's insert, prepared)\n");
    console.log("| clients | inserts/s | average latency ms | inserts/s per run |");
    console.log("|---:|---:|---:|---|");
    for (const concurrency of CONCURRENCY) {
      const entry = inserts.get(concurrency);
      console.log(
        `| ${concurrency} | ${pgbenchTps(concurrency).toFixed(0)} | ${median(entry?.latency ?? []).toFixed(2)} | ${entry?.tps.map((t) => t.toFixed(0)).join(" / ")} |`,
      );
    }
    console.log(
      `\nRSS of the service (fast path): ${rssBefore} MiB at start, ${rssAfter} MiB after the runs`,
    );

    if (SOAK > 0) {
      const fastTarget = targets[0] as Target;
      const result = await soak(fastTarget, scratch);
      console.log(
        `\n## Soak: ${SOAK} s of GetCustomer at 64 gRPC streams with CreateCustomer at 16 alongside\n`,
      );
      console.log(
        `GetCustomer ${result.gets.rps.toFixed(0)} calls/s (p99 ${result.gets.p99.toFixed(2)} ms, ${result.gets.failed} failed); ` +
          `CreateCustomer ${result.created.rps.toFixed(0)} calls/s (p99 ${result.created.p99.toFixed(2)} ms, ${result.created.failed} failed)\n`,
      );
      console.log(`| second | ${result.samples.map((s) => s.second).join(" | ")} |`);
      console.log(`|---|${result.samples.map(() => "---:").join("|")}|`);
      console.log(`| RSS MiB | ${result.samples.map((s) => s.rss).join(" | ")} |`);
      const rss = result.samples.map((s) => s.rss);
      console.log(`\nRSS: max ${Math.max(...rss)} MiB, min ${Math.min(...rss)} MiB`);
    }
  } finally {
    for (const child of servers) child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 2_000));
    await embedded.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
