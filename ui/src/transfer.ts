import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { parse } from "csv-parse/browser/esm/sync";
import { stringify } from "csv-stringify/browser/esm/sync";
import {
  ImportMode,
  ImportOutcome,
} from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import type { Customer } from "../../gen/customerinventory/v1/resources_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { columnProblem, EXPORT_COLUMNS, importRowOf } from "../../src/domain/customer-files.js";
import { api } from "./api.js";

const BATCH = 1000;

const time = (t: Customer["createTime"]) => (t ? timestampDate(t).toISOString() : "");

/** The CSV of every customer the query matches, read as the export streams it. */
export async function exportCsv(
  query: { filter: string; search: string; orderBy: string },
  onProgress: (done: number, total: number) => void,
): Promise<Blob> {
  const parts: string[] = [stringify([[...EXPORT_COLUMNS]])];
  let done = 0;
  let total = 0;
  for await (const message of api.exportCustomers(query)) {
    if (done === 0) total = message.totalSize;
    parts.push(
      stringify(
        message.customers.map((c) => [
          c.id,
          c.name,
          c.referenceNumber,
          c.description,
          c.serviceInstanceCount,
          time(c.createTime),
          time(c.updateTime),
        ]),
      ),
    );
    done += message.customers.length;
    onProgress(done, total);
  }
  return new Blob(parts, { type: "text/csv;charset=utf-8" });
}

export interface FileRow {
  line: number;
  name: string;
  referenceNumber: string;
  description: string;
}

/** Rows of a CSV file (header name, reference_number, description in any order); throws a sentence. */
export function parseCsv(text: string): FileRow[] {
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(text, { bom: true, columns: true, info: true, skip_empty_lines: true });
  } catch (err) {
    throw new Error(`This is not a CSV file the import can read: ${(err as Error).message}`);
  }
  const header = Object.keys(records[0]?.record ?? {});
  const problem = records.length > 0 ? columnProblem(header) : undefined;
  if (problem) throw new Error(`${problem.charAt(0).toUpperCase()}${problem.slice(1)}.`);
  let ended = 1;
  return records.map(({ record, info }) => {
    const line = ended + 1;
    ended = info.lines;
    const field = (name: string) => (record[name] ?? "").replace(/\r\n?/g, "\n");
    return {
      line,
      name: field("name"),
      referenceNumber: field("reference_number"),
      description: field("description"),
    };
  });
}

export interface ImportReport {
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  /** Bad rows: the file's line and what is wrong. */
  rejected: { line: number; message: string }[];
}

/**
 * Sends the rows in batches of 1000, as a dry run (`validateOnly`: every batch, every bad row)
 * or for real (stopping at the first rejected batch).
 */
export async function importRows(
  rows: FileRow[],
  options: { upsert: boolean; validateOnly: boolean },
  onProgress: (done: number) => void,
): Promise<ImportReport> {
  const report: ImportReport = {
    rows: rows.length,
    created: 0,
    updated: 0,
    unchanged: 0,
    rejected: [],
  };
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    try {
      const res = await api.importCustomers({
        customers: batch.map((r) => ({
          name: r.name,
          referenceNumber: r.referenceNumber,
          description: r.description,
        })),
        mode: options.upsert ? ImportMode.UPSERT : ImportMode.CREATE,
        validateOnly: options.validateOnly,
      });
      for (const r of res.results) {
        if (r.outcome === ImportOutcome.CREATED) report.created += 1;
        else if (r.outcome === ImportOutcome.UPDATED) report.updated += 1;
        else report.unchanged += 1;
      }
    } catch (err) {
      const e = ConnectError.from(err);
      if (
        e.code !== Code.InvalidArgument ||
        e.findDetails(ErrorInfoSchema)[0]?.reason !== "IMPORT_ROWS_INVALID"
      ) {
        throw err;
      }
      for (const v of e.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations)) {
        const at = importRowOf(v.field);
        report.rejected.push({
          line: at ? (batch[at.row]?.line ?? 0) : 0,
          message: `${at?.field ?? v.field}: ${v.description}`,
        });
      }
      if (!options.validateOnly) break;
    }
    onProgress(Math.min(rows.length, i + BATCH));
  }
  return report;
}
