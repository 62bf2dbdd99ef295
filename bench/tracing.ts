/**
 * What OpenTelemetry tracing costs, side by side in one run: the service at BASELINE (the
 * commit before tracing, compiled in a scratch worktree), the service as built here with no
 * OTEL_EXPORTER_OTLP_ENDPOINT (the default), and the same exporting every span to a collector
 * in this process that accepts and drops them. GetCustomer (h2load, gRPC, 16 streams) and
 * CreateCustomer (bench/create-load.ts, 16 callers); servers on CPU 0, load on CPU 1, runs
 * alternating. See docs/benchmarks.md.
 *
 *   npm run bench:tracing   (BASELINE=<commit> DURATION=10 REPS=2)
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import postgres from "postgres";
import { GetCustomerRequestSchema } from "../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { startEmbeddedPostgres } from "../src/store/embedded-postgres.js";
import { migrateDatabase } from "../src/store/migrate.js";
import { loadCustomers } from "../test/support/synthetic-customers.js";
import { grpcFrame, median, requireH2load, runOnCpu1 } from "./h2load.js";
import { buildHereAndAt, removeWorktree, type Server, startServiceOnCpu0 } from "./servers.js";

const BASELINE = process.env.BASELINE ?? "HEAD~1";
const DURATION = Number(process.env.DURATION ?? 10);
const REPS = Number(process.env.REPS ?? 2);
const root = path.resolve(import.meta.dirname, "..");

async function getCustomer(server: Server, body: string) {
  const { stdout } = await promisify(execFile)(
    "taskset",
    [
      "-c",
      "1",
      "h2load",
      "-t",
      "1",
      "-c",
      "1",
      "-m",
      "16",
      "-D",
      String(DURATION),
      "--warm-up-time=1",
      "-d",
      body,
      "-H",
      "content-type: application/grpc",
      "-H",
      "te: trailers",
      `http://127.0.0.1:${server.port}/customerinventory.v1.CustomerInventoryService/GetCustomer`,
    ],
    { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
  );
  return Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(stdout)?.[1] ?? Number.NaN);
}

async function createCustomer(server: Server) {
  const result = await runOnCpu1<{ rps: number }>("bench/create-load.ts", [
    server.port,
    "grpc",
    16,
    DURATION,
    "create",
  ]);
  return result.rps;
}

async function main() {
  requireH2load();
  const scratch = mkdtempSync(path.join(tmpdir(), "bench-tracing-"));
  chmodSync(scratch, 0o755);
  const worktree = path.join(scratch, "baseline");
  const servers: Server[] = [];
  let spans = 0;
  const collector = http.createServer((req, res) => {
    req.on("data", () => {});
    req.on("end", () => {
      spans += 1;
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
  const pg = await startEmbeddedPostgres({
    dataDir: path.join(scratch, "pg"),
    database: "postgres",
    onLog: () => {},
  });
  try {
    console.log(`building the service here and at ${BASELINE} (before tracing)…`);
    const built = buildHereAndAt(root, BASELINE, worktree);
    await migrateDatabase(pg.url, { migrationsFolder: path.join(root, "drizzle") });
    const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
    await loadCustomers(sql, 100_000);
    const [row] = await sql<{ id: string }[]>`select id from customers limit 1 offset 5000`;
    await sql.end();
    const body = path.join(scratch, "get.grpc");
    writeFileSync(
      body,
      grpcFrame(
        toBinary(GetCustomerRequestSchema, create(GetCustomerRequestSchema, { id: row?.id })),
      ),
    );
    const { port } = collector.address() as AddressInfo;
    const env = { DATABASE_URL: pg.url };
    servers.push(
      await startServiceOnCpu0("baseline", built.main, env, scratch),
      await startServiceOnCpu0("no exporter", path.join(root, "dist/src/main.js"), env, scratch),
      await startServiceOnCpu0(
        "exporting",
        path.join(root, "dist/src/main.js"),
        { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` },
        scratch,
      ),
    );
    const results = new Map(
      servers.map((s) => [s.name, { get: [] as number[], create: [] as number[] }]),
    );
    for (let rep = 0; rep < REPS; rep++) {
      for (const server of rep % 2 === 0 ? servers : [...servers].reverse()) {
        results.get(server.name)?.get.push(await getCustomer(server, body));
        results.get(server.name)?.create.push(await createCustomer(server));
      }
    }
    const base = results.get("baseline") as { get: number[]; create: number[] };
    console.log(
      `\n## Tracing cost: gRPC, 16 in flight, ${DURATION} s a run, ${REPS} runs each, alternating`,
    );
    console.log(
      "| server | GetCustomer calls/s (median) | ratio | CreateCustomer calls/s (median) | ratio |",
    );
    console.log("|---|---:|---:|---:|---:|");
    for (const [name, r] of results) {
      console.log(
        `| ${name} | ${median(r.get).toFixed(0)} | ${(median(r.get) / median(base.get)).toFixed(3)} | ${median(r.create).toFixed(0)} | ${(median(r.create) / median(base.create)).toFixed(3)} |`,
      );
    }
    console.log(`\n(OTLP exports received by the collector: ${spans})`);
  } finally {
    for (const s of servers) s.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 1_000));
    await pg.stop();
    collector.close();
    removeWorktree(root, worktree);
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
