import { existsSync } from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import { Presets, SingleBar } from "cli-progress";
import {
  ImportMode,
  ImportOutcome,
} from "../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { importRowOf } from "../src/domain/customer-files.js";
import { describeFailure, inventoryClient } from "./client.js";
import { FileError, type FileRow, formatOf, readRows } from "./rows.js";

const BATCH = 1000;
/** Rows per re-check when a batch had more problems than one error lists (3 fields a row). */
const RECHECK = 33;
/** Batches sent before the first of them has answered. */
const IN_FLIGHT = 2;

export interface ImportOptions {
  file: string;
  url: string;
  token: string | undefined;
  upsert: boolean;
  dryRun: boolean;
  format: string | undefined;
}

/** A rejected row, as printed: the file's line and what is wrong. */
interface Rejection {
  line: number;
  message: string;
}

const key = (text: string) => text.trim().normalize("NFC").toLowerCase();

const fields = (r: FileRow) => ({
  name: r.name,
  referenceNumber: r.referenceNumber,
  description: r.description,
});

/** Progress on stderr: a bar on a terminal, a line every few seconds otherwise. */
function progress(total: number | undefined) {
  const started = performance.now();
  const rate = (done: number) => Math.round(done / ((performance.now() - started) / 1000 || 1));
  if (process.stderr.isTTY && total !== undefined) {
    const bar = new SingleBar(
      {
        stream: process.stderr,
        format: "{bar} {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}",
        etaBuffer: 20,
      },
      Presets.shades_classic,
    );
    bar.start(total, 0, { rate: 0 });
    return {
      update: (done: number) => bar.update(done, { rate: rate(done) }),
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  return {
    update(done: number) {
      if (performance.now() - last < 2_000) return;
      last = performance.now();
      process.stderr.write(`${done} rows (${rate(done)} rows/s)\n`);
    },
    stop() {},
  };
}

/** Runs the import command; resolves with the exit code. */
export async function importCustomers(options: ImportOptions): Promise<number> {
  let format: ReturnType<typeof formatOf>;
  try {
    format = formatOf(options.file, options.format);
    if (!existsSync(options.file)) throw new FileError(`no such file: ${options.file}`);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const client = inventoryClient(options.url, options.token);
  const mode = options.upsert ? ImportMode.UPSERT : ImportMode.CREATE;
  const rejections: Rejection[] = [];
  const counts = { created: 0, updated: 0, unchanged: 0 };
  const firstLineOf = { name: new Map<string, number>(), reference: new Map<string, number>() };
  let done = 0;
  const started = performance.now();

  let total: number | undefined;
  try {
    if (process.stderr.isTTY) {
      total = 0;
      for await (const _ of readRows(options.file, format)) total += 1;
    }
  } catch (err) {
    process.stderr.write(`${options.file}: ${(err as Error).message}\n`);
    return 2;
  }
  const shown = progress(total);

  /** The rejections of `batch`, as the service reports them: a smaller call when it truncates. */
  async function rejectionsOf(batch: FileRow[], err: ConnectError): Promise<Rejection[]> {
    const info = err.findDetails(ErrorInfoSchema)[0];
    const violations = err.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations);
    if (info?.metadata.violation_count && batch.length > RECHECK) {
      const all: Rejection[] = [];
      for (let i = 0; i < batch.length; i += RECHECK) {
        const part = batch.slice(i, i + RECHECK);
        try {
          await client.importCustomers({ customers: part.map(fields), mode, validateOnly: true });
        } catch (partErr) {
          const e = ConnectError.from(partErr);
          if (e.findDetails(ErrorInfoSchema)[0]?.reason !== "IMPORT_ROWS_INVALID") throw partErr;
          all.push(...(await rejectionsOf(part, e)));
        }
      }
      return all;
    }
    return violations.map((v) => {
      const at = importRowOf(v.field);
      return {
        line: at ? (batch[at.row]?.line ?? 0) : 0,
        message: `${at?.field ?? v.field}: ${v.description.replace(/customers\[(\d+)\]/g, (_, i) => `line ${batch[Number(i)]?.line}`)}`,
      };
    });
  }

  /** Sends one batch; false when the import must stop (rows rejected, not a dry run). */
  async function send(batch: FileRow[]): Promise<boolean> {
    try {
      const res = await client.importCustomers({
        customers: batch.map(fields),
        mode,
        validateOnly: options.dryRun,
      });
      for (const r of res.results) {
        if (r.outcome === ImportOutcome.CREATED) counts.created += 1;
        else if (r.outcome === ImportOutcome.UPDATED) counts.updated += 1;
        else counts.unchanged += 1;
      }
      done += batch.length;
      shown.update(done);
      return true;
    } catch (err) {
      const e = ConnectError.from(err);
      const reason = e.findDetails(ErrorInfoSchema)[0]?.reason;
      if (e.code !== Code.InvalidArgument || reason !== "IMPORT_ROWS_INVALID") throw err;
      rejections.push(...(await rejectionsOf(batch, e)));
      done += batch.length;
      shown.update(done);
      return options.dryRun;
    }
  }

  let batch: FileRow[] = [];
  const inFlight: Promise<boolean>[] = [];
  try {
    for await (const row of readRows(options.file, format)) {
      // Rows of different batches that repeat a name or reference number: the service sees
      // them in separate calls, so the file is checked as a whole here.
      const name = key(row.name);
      const seenName = firstLineOf.name.get(name);
      const reference = key(row.referenceNumber);
      const seenReference = reference ? firstLineOf.reference.get(reference) : undefined;
      if (name && seenName !== undefined && !options.upsert) {
        rejections.push({ line: row.line, message: `name: is also the name on line ${seenName}` });
        continue;
      }
      if (seenReference !== undefined) {
        rejections.push({
          line: row.line,
          message: `reference_number: is also the reference number on line ${seenReference}`,
        });
        continue;
      }
      if (name && seenName === undefined) firstLineOf.name.set(name, row.line);
      if (reference) firstLineOf.reference.set(reference, row.line);
      batch.push(row);
      if (batch.length === BATCH) {
        // Two batches in flight: the service checks one while PostgreSQL writes the other.
        inFlight.push(send(batch));
        batch = [];
        if (inFlight.length === IN_FLIGHT && !(await inFlight.shift())) break;
      }
      if (!options.dryRun && rejections.length > 0) break;
    }
    const going = (await Promise.all(inFlight)).every(Boolean);
    if (batch.length > 0 && going && (options.dryRun || rejections.length === 0)) await send(batch);
  } catch (err) {
    shown.stop();
    if (err instanceof FileError) {
      process.stderr.write(`${options.file}: ${err.message}\n`);
    } else {
      process.stderr.write(`${describeFailure(err, options.url)}\n`);
    }
    return 2;
  }
  shown.stop();
  const seconds = (performance.now() - started) / 1000;
  rejections.sort((a, b) => a.line - b.line);
  for (const r of rejections) process.stderr.write(`${options.file}:${r.line}: ${r.message}\n`);
  const summary = `${counts.created} created, ${counts.updated} updated, ${counts.unchanged} unchanged`;
  if (options.dryRun) {
    process.stderr.write(
      `dry run, nothing written: ${done} rows checked; would be ${summary}; ${rejections.length} rejected\n`,
    );
  } else if (rejections.length > 0) {
    process.stderr.write(
      `stopped at a rejected batch: ${summary} by the batches written (re-run with --upsert after fixing the file)\n`,
    );
  } else {
    process.stderr.write(
      `imported ${done} rows in ${seconds.toFixed(1)} s (${Math.round(done / (seconds || 1))} rows/s): ${summary}\n`,
    );
  }
  return rejections.length > 0 ? 1 : 0;
}
