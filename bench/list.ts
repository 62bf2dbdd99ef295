/**
 * ListCustomers at a million customers: the service's latency next to the same SQL run
 * directly against PostgreSQL, in one run. See docs/benchmarks.md.
 *
 *   npm run bench:list            (ROWS=1000000 REQUESTS=200 REPS=3)
 *
 * Loads the data into a database of its own (embedded PostgreSQL under $TMPDIR, or the
 * server at BENCH_DATABASE_URL, where it creates and drops `bench_list`), starts the
 * service as `npm start` would, and loads it with h2load (gRPC, one call in flight).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import {
  CustomerInventoryService,
  type ListCustomersRequest,
  ListCustomersRequestSchema,
} from "../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { anonymousCaller } from "../src/domain/types.js";
import { createCustomerHandlers } from "../src/service/customers.js";
import { createPageTokenCodec } from "../src/service/page-token.js";
import { clientOptions } from "../src/store/db.js";
import { startEmbeddedPostgres } from "../src/store/embedded-postgres.js";
import { createStore } from "../src/store/index.js";
import { migrateDatabase } from "../src/store/migrate.js";
import * as schema from "../src/store/schema.js";
import { startServiceProcess } from "../test/support/process.js";
import { loadCustomers } from "../test/support/synthetic-customers.js";
import { grpcFrame, median, readLatencyLog, requireH2load, summarize } from "./h2load.js";

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const REQUESTS = Number(process.env.REQUESTS ?? 200);
const REPS = Number(process.env.REPS ?? 3);
const SEQSCAN_RUNS = 3;

interface Scenario {
  name: string;
  request: MessageInitShape<typeof ListCustomersRequestSchema>;
  /** Rows to walk past (1000 per call, as a client would) before measuring the page. */
  skip?: number;
}

// Page 10,000 of 50 starts after row 499,950.
const page10k = Math.min(499_950, Math.floor(ROWS / 2));

const scenarios: Scenario[] = [
  { name: "rare search term", request: { search: "zenithal" } },
  { name: "common search term", request: { search: "logistics" } },
  { name: "filter on name prefix", request: { filter: 'name = "nimbus nai*"' } },
  {
    name: "filter on service_instance_count",
    request: { filter: "service_instance_count >= 100" },
  },
  { name: "page 1, default order", request: {} },
  { name: "page 10,000, default order", request: {}, skip: page10k },
  {
    name: "page 1, service_instance_count desc",
    request: { orderBy: "service_instance_count desc" },
  },
  {
    name: "page 10,000, service_instance_count desc",
    request: { orderBy: "service_instance_count desc" },
    skip: page10k,
  },
];

const options = { poolSize: 10, statementTimeoutMs: 60_000, connectTimeoutSeconds: 10 };

/** The service under h2load: one connection, one call in flight, REQUESTS calls. */
function loadService(port: number, request: ListCustomersRequest, scratch: string) {
  const body = path.join(scratch, "request.bin");
  const log = path.join(scratch, "latency.tsv");
  requireH2load();
  rmSync(log, { force: true });
  writeFileSync(body, grpcFrame(toBinary(ListCustomersRequestSchema, request)));
  execFileSync(
    "h2load",
    [
      "-n",
      String(REQUESTS),
      "-c",
      "1",
      "-m",
      "1",
      "-d",
      body,
      "-H",
      "content-type: application/grpc",
      "-H",
      "te: trailers",
      `--log-file=${log}`,
      `http://127.0.0.1:${port}/customerinventory.v1.CustomerInventoryService/ListCustomers`,
    ],
    { stdio: "pipe" },
  );
  const durations = readLatencyLog(log);
  if (durations.length !== REQUESTS) throw new Error(`h2load answered ${durations.length} calls`);
  return summarize(durations);
}

interface Query {
  sql: string;
  params: unknown[];
}

/** The same statements, run as the service runs them (concurrently), REQUESTS times. */
async function loadDirect(client: postgres.Sql, queries: Query[], runs = REQUESTS) {
  const durations: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await Promise.all(
      queries.map((q) => client.unsafe(q.sql, q.params as postgres.ParameterOrJSON<never>[])),
    );
    durations.push(performance.now() - start);
  }
  return summarize(durations);
}

async function main() {
  const scratch = mkdtempSync(path.join(tmpdir(), "bench-list-"));
  const embedded = process.env.BENCH_DATABASE_URL
    ? undefined
    : await startEmbeddedPostgres({
        dataDir: scratch,
        database: "postgres",
        persistent: false,
        settings: {
          shared_buffers: "2GB",
          work_mem: "16MB",
          jit: "off",
          random_page_cost: "1.1",
          max_wal_size: "8GB",
          checkpoint_timeout: "30min",
        },
      });
  const adminUrl = process.env.BENCH_DATABASE_URL ?? (embedded?.adminUrl as string);
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin`drop database if exists bench_list with (force)`;
  await admin`create database bench_list`;
  const url = new URL(adminUrl);
  url.pathname = "/bench_list";
  const databaseUrl = url.toString();
  let service: Awaited<ReturnType<typeof startServiceProcess>> | undefined;
  try {
    await migrateDatabase(databaseUrl);
    const loader = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    const loadStart = performance.now();
    await loadCustomers(loader, ROWS);
    const loadSeconds = (performance.now() - loadStart) / 1000;
    const [counts] = await loader<{ customers: number; instances: number }[]>`
      select (select count(*)::int from customers) as customers,
             (select count(*)::int from service_instances) as instances`;
    await loader.end();
    const { customers, instances } = counts ?? { customers: 0, instances: 0 };
    console.log(
      `loaded ${customers} customers and ${instances} instances in ${loadSeconds.toFixed(1)} s`,
    );

    const secret = randomBytes(32).toString("base64url");
    service = await startServiceProcess({
      DATABASE_URL: databaseUrl,
      PAGE_TOKEN_SECRET: secret,
      LOG_LEVEL: "info",
      DB_POOL_SIZE: String(options.poolSize),
    });
    const api = createClient(
      CustomerInventoryService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${service.port}` }),
    );

    for (const scenario of scenarios) {
      if (!scenario.skip) continue;
      let pageToken = "";
      for (let walked = 0; walked < scenario.skip; ) {
        const pageSize = Math.min(1000, scenario.skip - walked);
        const page = await api.listCustomers({ ...scenario.request, pageSize, pageToken });
        walked += page.customers.length;
        pageToken = page.nextPageToken;
        if (!pageToken) throw new Error(`the walk for "${scenario.name}" ended early`);
      }
      scenario.request = { ...scenario.request, pageToken };
    }

    // The statements the service runs for each request, captured from the same handler
    // code with drizzle's logger, to run again directly.
    const capturing = postgres(databaseUrl, clientOptions(options));
    let captured: Query[] = [];
    const db = drizzle(capturing, {
      schema,
      logger: { logQuery: (sql, params) => captured.push({ sql, params }) },
    });
    const handlers = createCustomerHandlers({
      store: createStore({ db }),
      pageTokens: createPageTokenCodec({ secret: Buffer.from(secret, "utf8") }),
      callerOf: () => anonymousCaller,
      authorOf: () => ({ actor: "", requestId: "" }),
    });
    const direct = postgres(databaseUrl, clientOptions(options));
    const inProcess = createCustomerHandlers({
      store: createStore({ db: drizzle(direct, { schema }) }),
      pageTokens: createPageTokenCodec({ secret: Buffer.from(secret, "utf8") }),
      callerOf: () => anonymousCaller,
      authorOf: () => ({ actor: "", requestId: "" }),
    });
    const unindexed = postgres(databaseUrl, {
      ...clientOptions(options),
      connection: {
        ...clientOptions(options).connection,
        enable_bitmapscan: "off",
        enable_indexscan: "off",
        enable_indexonlyscan: "off",
      },
    });

    const prepared = [];
    for (const scenario of scenarios) {
      const request = create(ListCustomersRequestSchema, scenario.request);
      const check = await api.listCustomers(request);
      captured = [];
      await handlers.listCustomers(request, {} as HandlerContext);
      const queries = captured;
      const plans = [];
      for (const q of queries) {
        const rows = await direct.unsafe(
          `explain (analyze, buffers) ${q.sql}`,
          q.params as postgres.ParameterOrJSON<never>[],
        );
        const lines = rows.map((r) => String(r["QUERY PLAN"]));
        plans.push({ sql: q.sql, params: q.params, plan: lines });
      }
      prepared.push({
        scenario,
        request,
        queries,
        plans,
        rows: check.customers.length,
        total: check.totalSize,
      });
    }

    type Latency = { p50: number; p99: number };
    const results = new Map<string, Record<"service" | "handler" | "direct", Latency[]>>();
    for (let rep = 0; rep < REPS; rep++) {
      for (const p of prepared) {
        const entry = results.get(p.scenario.name) ?? { service: [], handler: [], direct: [] };
        entry.service.push(loadService(service.port, p.request, scratch));
        entry.direct.push(await loadDirect(direct, p.queries));
        // The handler called in this process: the store's share of the service's time.
        const durations: number[] = [];
        for (let i = 0; i < REQUESTS; i++) {
          const start = performance.now();
          await inProcess.listCustomers(p.request, {} as HandlerContext);
          durations.push(performance.now() - start);
        }
        entry.handler.push(summarize(durations));
        results.set(p.scenario.name, entry);
      }
    }
    const rare = prepared[0];
    const seqscan = await loadDirect(unindexed, rare?.queries ?? [], SEQSCAN_RUNS);

    console.log(`\n## ListCustomers at ${customers} customers / ${instances} instances`);
    console.log(
      `${REQUESTS} calls per run, ${REPS} runs interleaved; medians of the runs' p50 and p99 (ms)\n`,
    );
    console.log(
      "| scenario | rows / total_size | service p50 | service p99 | handler in-process p50 | direct SQL p50 | direct SQL p99 | service / direct (p50) |",
    );
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
    const p50Of = (name: string, side: "service" | "handler" | "direct") =>
      median(results.get(name)?.[side].map((r) => r.p50) ?? []);
    for (const p of prepared) {
      const r = results.get(p.scenario.name);
      if (!r) continue;
      const s50 = p50Of(p.scenario.name, "service");
      const d50 = p50Of(p.scenario.name, "direct");
      const h50 = p50Of(p.scenario.name, "handler");
      const s99 = median(r.service.map((x) => x.p99));
      const d99 = median(r.direct.map((x) => x.p99));
      console.log(
        `| ${p.scenario.name} | ${p.rows} / ${p.total} | ${s50.toFixed(2)} | ${s99.toFixed(2)} | ${h50.toFixed(2)} | ${d50.toFixed(2)} | ${d99.toFixed(2)} | ${(s50 / d50).toFixed(2)}x |`,
      );
    }
    const ratio = (deep: string, first: string) =>
      (p50Of(deep, "service") / p50Of(first, "service")).toFixed(2);
    const rareP50 = p50Of("rare search term", "direct");
    console.log(
      `\npage 10,000 / page 1 (service p50): default order ${ratio("page 10,000, default order", "page 1, default order")}x, service_instance_count desc ${ratio("page 10,000, service_instance_count desc", "page 1, service_instance_count desc")}x`,
    );
    console.log(
      `rare term, unindexed scan (direct SQL, ${SEQSCAN_RUNS} runs) p50 ${seqscan.p50.toFixed(0)} ms: the index is ${(seqscan.p50 / rareP50).toFixed(0)}x faster`,
    );
    console.log("\n## Plans (EXPLAIN ANALYZE of the statements the service runs)\n");
    for (const p of prepared) {
      console.log(`### ${p.scenario.name}: ${JSON.stringify(p.scenario.request).slice(0, 120)}`);
      for (const plan of p.plans) {
        console.log("```");
        console.log(plan.sql);
        console.log(plan.plan.join("\n"));
        console.log("```");
      }
    }
    await Promise.all([capturing.end(), direct.end(), unindexed.end()]);
  } finally {
    const stopping = service?.stop("SIGTERM");
    const timer = setTimeout(() => service?.child.kill("SIGKILL"), 10_000);
    await stopping;
    clearTimeout(timer);
    await admin`drop database if exists bench_list with (force)`.catch(() => {});
    await admin.end();
    await embedded?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
