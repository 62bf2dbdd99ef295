/**
 * Bulk import and export at a million rows, side by side in one run (see docs/benchmarks.md):
 * the command line (`dist/cli/main.js`, on CPU 1) importing a ROWS-row CSV into the service
 * (`dist/src/main.js`, on CPU 0), then the same file again with --upsert and 1 % of the rows
 * changed, then exporting everything to a CSV file; PostgreSQL's own COPY of the same rows
 * (with the service's derived columns, into the same table and indexes of a second database)
 * as the yardstick; the service's RSS sampled every 250 ms throughout.
 *
 *   npm run bench:bulk   (ROWS=1000000)
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmodSync, createWriteStream, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import postgres from "postgres";
import { randomBase32 } from "../src/domain/ids.js";
import { normalizeKey } from "../src/domain/text.js";
import { startEmbeddedPostgres } from "../src/store/embedded-postgres.js";
import { migrateDatabase } from "../src/store/migrate.js";

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const root = path.resolve(import.meta.dirname, "..");

const nameOf = (i: number) => `Bulk Customer ${i}`;
const referenceOf = (i: number) => `BULK-${String(i).padStart(8, "0")}`;
const descriptionOf = (i: number, changed: boolean) =>
  `${changed ? "changed" : "regional"} fibre tenant ${i}, "ring ${i % 97}"`;
const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

async function writeCsv(file: string, changedEvery: number | undefined) {
  const out = createWriteStream(file);
  async function* lines() {
    yield "name,reference_number,description\n";
    let chunk = "";
    for (let i = 0; i < ROWS; i++) {
      const changed = changedEvery !== undefined && i % changedEvery === 0;
      chunk += `${quote(nameOf(i))},${referenceOf(i)},${quote(descriptionOf(i, changed))}\n`;
      if (chunk.length > 1 << 16) {
        yield chunk;
        chunk = "";
      }
    }
    yield chunk;
  }
  await pipeline(lines, out);
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Math.round(Number(match?.[1] ?? 0) / 1024);
}

async function startServer(url: string, scratch: string) {
  const log = path.join(scratch, "server.log");
  const child: ChildProcess = spawn(
    "taskset",
    ["-c", "0", process.execPath, path.join(root, "dist/src/main.js")],
    {
      cwd: root,
      env: { ...process.env, DATABASE_URL: url, PORT: "0", LOG_LEVEL: "info" },
      stdio: ["ignore", openSync(log, "w"), "inherit"],
    },
  );
  for (let waited = 0; waited < 60_000; waited += 100) {
    const text = readFileSync(log, "utf8");
    const port = /"port":(\d+)/.exec(text)?.[1];
    if (port && text.includes("database ready")) return { child, port: Number(port) };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error("the service did not start");
}

/** Runs the CLI on CPU 1; resolves with the seconds it took. */
async function cliSeconds(args: string[]) {
  const started = performance.now();
  await promisify(execFile)(
    "taskset",
    ["-c", "1", process.execPath, path.join(root, "dist/cli/main.js"), ...args],
    { maxBuffer: 1 << 20 },
  );
  return (performance.now() - started) / 1000;
}

/** COPY of the same rows (derived columns computed as the service does) into a fresh table. */
async function copySeconds(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const started = performance.now();
    const writable =
      await sql`copy customers (id, name, name_key, reference_number, reference_key, description, description_key, search_text, etag) from stdin`.writable();
    async function* rows() {
      let chunk = "";
      for (let i = 0; i < ROWS; i++) {
        const id = `01BULK${String(i).padStart(20, "0")}`;
        const name = nameOf(i);
        const reference = referenceOf(i);
        const description = descriptionOf(i, false);
        const fields = [
          id,
          name,
          normalizeKey(name),
          reference,
          normalizeKey(reference),
          description,
          normalizeKey(description),
          [
            normalizeKey(name),
            id.toLowerCase(),
            normalizeKey(reference),
            normalizeKey(description),
          ].join("\\n"),
          randomBase32(16),
        ];
        chunk += `${fields.join("\t")}\n`;
        if (chunk.length > 1 << 16) {
          yield chunk;
          chunk = "";
        }
      }
      yield chunk;
    }
    await pipeline(rows, writable);
    return (performance.now() - started) / 1000;
  } finally {
    await sql.end();
  }
}

async function main() {
  const scratch = mkdtempSync(path.join(tmpdir(), "bench-bulk-"));
  chmodSync(scratch, 0o755);
  const pg = await startEmbeddedPostgres({
    dataDir: path.join(scratch, "pg"),
    database: "postgres",
  });
  let server: { child: ChildProcess; port: number } | undefined;
  try {
    await promisify(execFile)("npm", ["run", "build:server"], { cwd: root });
    const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
    for (const db of ["service", "copied"]) await admin.unsafe(`create database ${db}`);
    await admin.end();
    const urlOf = (db: string) => Object.assign(new URL(pg.url), { pathname: `/${db}` }).toString();
    await migrateDatabase(urlOf("copied"), { connectTimeoutSeconds: 10 });

    const first = path.join(scratch, "customers.csv");
    const second = path.join(scratch, "customers-1pct.csv");
    const exported = path.join(scratch, "export.csv");
    await writeCsv(first, undefined);
    await writeCsv(second, 100);

    server = await startServer(urlOf("service"), scratch);
    const pid = server.child.pid as number;
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMiB(pid));
    }, 250);
    const url = `http://127.0.0.1:${server.port}`;
    const copy = await copySeconds(urlOf("copied"));
    const created = await cliSeconds(["--url", url, "import", first]);
    const upserted = await cliSeconds(["--url", url, "import", "--upsert", second]);
    const exportedIn = await cliSeconds(["--url", url, "export", "--output", exported]);
    clearInterval(sampler);
    const rate = (s: number) => Math.round(ROWS / s).toLocaleString("en");
    console.log(`\n## Bulk at ${ROWS.toLocaleString("en")} rows`);
    console.log("| what | seconds | rows/s | vs COPY |");
    console.log("|---|---|---|---|");
    console.log(
      `| COPY into customers (no change records) | ${copy.toFixed(1)} | ${rate(copy)} | 1.00× |`,
    );
    console.log(
      `| CLI import, CREATE | ${created.toFixed(1)} | ${rate(created)} | ${(copy / created).toFixed(2)}× |`,
    );
    console.log(
      `| CLI import --upsert, 1 % changed | ${upserted.toFixed(1)} | ${rate(upserted)} | ${(copy / upserted).toFixed(2)}× |`,
    );
    console.log(`| CLI export to CSV | ${exportedIn.toFixed(1)} | ${rate(exportedIn)} | |`);
    console.log(`\nservice peak RSS: ${peak} MiB`);
  } finally {
    server?.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 1_000));
    await pg.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
