import { createWriteStream } from "node:fs";
import type { Writable } from "node:stream";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { stringify } from "csv-stringify/sync";
import type { Customer } from "../gen/customerinventory/v1/resources_pb.js";
import { EXPORT_COLUMNS } from "../src/domain/customer-files.js";
import { describeFailure, inventoryClient } from "./client.js";

export interface ExportOptions {
  url: string;
  token: string | undefined;
  filter?: string;
  search?: string;
  orderBy?: string;
  format: string;
  output?: string;
}

const time = (t: Customer["createTime"]) => (t ? timestampDate(t).toISOString() : "");

const valuesOf = (c: Customer) => ({
  id: c.id,
  name: c.name,
  reference_number: c.referenceNumber,
  description: c.description,
  service_instance_count: c.serviceInstanceCount,
  create_time: time(c.createTime),
  update_time: time(c.updateTime),
});

/** Writes `chunk`, waiting while the destination's buffer is full. */
function write(out: Writable, chunk: string): Promise<void> {
  if (out.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => out.once("drain", resolve));
}

/** Runs the export command; resolves with the exit code. */
export async function exportCustomers(options: ExportOptions): Promise<number> {
  if (options.format !== "csv" && options.format !== "jsonl") {
    process.stderr.write(`--format must be csv or jsonl (got "${options.format}")\n`);
    return 2;
  }
  const out: Writable = options.output ? createWriteStream(options.output) : process.stdout;
  const client = inventoryClient(options.url, options.token);
  let exported = 0;
  let total = 0;
  try {
    if (options.format === "csv") await write(out, stringify([[...EXPORT_COLUMNS]]));
    for await (const message of client.exportCustomers({
      filter: options.filter ?? "",
      search: options.search ?? "",
      orderBy: options.orderBy ?? "",
    })) {
      if (exported === 0) total = message.totalSize;
      const rows = message.customers.map(valuesOf);
      await write(
        out,
        options.format === "csv"
          ? stringify(rows, { columns: [...EXPORT_COLUMNS] })
          : rows.map((r) => `${JSON.stringify(r)}\n`).join(""),
      );
      exported += rows.length;
      if (process.stderr.isTTY) process.stderr.write(`\r${exported}/${total} customers`);
    }
  } catch (err) {
    process.stderr.write(`${describeFailure(err, options.url)}\n`);
    return 2;
  } finally {
    if (options.output) await new Promise((resolve) => out.end(resolve));
  }
  if (process.stderr.isTTY) process.stderr.write("\n");
  process.stderr.write(`exported ${exported} customers\n`);
  return 0;
}
