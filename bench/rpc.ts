/**
 * GetCustomer throughput and latency, side by side in one run: the service over gRPC with
 * the fast path on and off, the service with Connect JSON over HTTP/1.1, and a plain
 * @grpc/grpc-js server doing the same store query (bench/grpc-js-server.ts). Every server
 * runs on CPU 0, h2load on CPU 1. See docs/benchmarks.md.
 *
 *   npm run bench:rpc        (ROWS=1000000 DURATION=10 REPS=2 CONCURRENCY="1 16 64")
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import postgres from "postgres";
import { GetCustomerRequestSchema } from "../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { startEmbeddedPostgres } from "../src/embedded-postgres.js";
import { migrateDatabase } from "../src/store/migrate.js";
import { loadCustomers } from "../test/support/synthetic-customers.js";
import { grpcFrame, median, readLatencyLog, requireH2load, summarize } from "./h2load.js";

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const DURATION = Number(process.env.DURATION ?? 10);
const REPS = Number(process.env.REPS ?? 2);
const CONCURRENCY = (process.env.CONCURRENCY ?? "1 16 64").split(" ").map(Number);
const PATH = "/customerinventory.v1.CustomerInventoryService/GetCustomer";

interface Target {
  name: string;
  port: number;
  pid: number;
  http1?: boolean;
}

/** Starts a server on CPU 0 with its stdout in a file; resolves once it names its port. */
async function startServer(
  args: string[],
  env: Record<string, string>,
  scratch: string,
  name: string,
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
    const port = /"port":(\d+)/.exec(readFileSync(log, "utf8"))?.[1];
    if (port) return { child, port: Number(port) };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`${name} did not start`);
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Math.round(Number(match?.[1] ?? 0) / 1024);
}

function h2load(target: Target, concurrency: number, scratch: string) {
  const log = path.join(scratch, "latency.tsv");
  rmSync(log, { force: true });
  const body = path.join(scratch, target.http1 ? "get.json" : "get.bin");
  const common = [
    "-t",
    "1",
    "-D",
    String(DURATION),
    "--warm-up-time=1",
    "-d",
    body,
    `--log-file=${log}`,
  ];
  const shape = target.http1
    ? ["--h1", "-c", String(concurrency), "-m", "1", "-H", "content-type: application/json"]
    : [
        "-c",
        "1",
        "-m",
        String(concurrency),
        "-H",
        "content-type: application/grpc",
        "-H",
        "te: trailers",
      ];
  const output = execFileSync(
    "taskset",
    ["-c", "1", "h2load", ...common, ...shape, `http://127.0.0.1:${target.port}${PATH}`],
    { encoding: "utf8" },
  );
  const rps = Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(output)?.[1] ?? Number.NaN);
  const failed = Number(/(\d+) failed/.exec(output)?.[1] ?? 0);
  return { rps, ...summarize(readLatencyLog(log)), failed };
}

async function main() {
  requireH2load();
  const scratch = mkdtempSync(path.join(tmpdir(), "bench-rpc-"));
  const embedded = await startEmbeddedPostgres({
    dataDir: scratch,
    database: "postgres",
    persistent: false,
    settings: { shared_buffers: "1GB", jit: "off", max_wal_size: "8GB" },
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
    writeFileSync(path.join(scratch, "get.bin"), grpcFrame(message));
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
    );
    servers.push(fast.child, slow.child, plain.child);
    const targets: Target[] = [
      { name: "service, gRPC, fast path", port: fast.port, pid: fast.child.pid ?? 0 },
      { name: "service, gRPC, Connect's handler", port: slow.port, pid: slow.child.pid ?? 0 },
      {
        name: "service, Connect JSON, HTTP/1.1",
        port: fast.port,
        pid: fast.child.pid ?? 0,
        http1: true,
      },
      { name: "plain @grpc/grpc-js, same query", port: plain.port, pid: plain.child.pid ?? 0 },
    ];
    const rssBefore = rssMiB(fast.child.pid ?? 0);

    const results = new Map<
      string,
      { rps: number[]; p50: number[]; p99: number[]; failed: number }
    >();
    for (let rep = 0; rep < REPS; rep++) {
      for (const concurrency of CONCURRENCY) {
        for (const target of targets) {
          const r = h2load(target, concurrency, scratch);
          const key = `${target.name}|${concurrency}`;
          const entry = results.get(key) ?? { rps: [], p50: [], p99: [], failed: 0 };
          entry.rps.push(r.rps);
          entry.p50.push(r.p50);
          entry.p99.push(r.p99);
          entry.failed += r.failed;
          results.set(key, entry);
        }
      }
    }
    const rssAfter = rssMiB(fast.child.pid ?? 0);

    console.log(
      `\n## GetCustomer at ${ROWS} customers: ${REPS} runs of ${DURATION} s each, interleaved; medians`,
    );
    console.log("concurrency: gRPC streams on one connection; HTTP/1.1 connections\n");
    console.log(
      "| server | concurrency | calls/s | p50 ms | p99 ms | calls/s per run | vs grpc-js (calls/s) |",
    );
    console.log("|---|---:|---:|---:|---:|---|---:|");
    for (const concurrency of CONCURRENCY) {
      const base = median(results.get(`${targets[3]?.name}|${concurrency}`)?.rps ?? []);
      for (const target of targets) {
        const r = results.get(`${target.name}|${concurrency}`);
        if (!r) continue;
        console.log(
          `| ${target.name} | ${concurrency} | ${median(r.rps).toFixed(0)} | ${median(r.p50).toFixed(2)} | ${median(r.p99).toFixed(2)} | ${r.rps.map((x) => x.toFixed(0)).join(" / ")} | ${(median(r.rps) / base).toFixed(2)}x |`,
        );
        if (r.failed > 0)
          console.log(`(${r.failed} failed calls for ${target.name} at ${concurrency})`);
      }
    }
    console.log(
      `\nRSS of the service (fast path): ${rssBefore} MiB before, ${rssAfter} MiB after the runs`,
    );
  } finally {
    for (const child of servers) child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 2_000));
    await embedded.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
