import { createReadStream } from "node:fs";
import { parse } from "csv-parse";
import { columnProblem } from "../src/domain/customer-files.js";

/** One customer row of an import file, with the line it starts on. */
export interface FileRow {
  line: number;
  name: string;
  referenceNumber: string;
  description: string;
}

/** A file the import cannot read (a usage error: exit 2). */
export class FileError extends Error {}

export type FileFormat = "csv" | "jsonl";

export const formatOf = (file: string, given?: string): FileFormat => {
  if (given === "csv" || given === "jsonl") return given;
  if (given) throw new FileError(`--format must be csv or jsonl (got "${given}")`);
  return /\.(jsonl|ndjson)$/i.test(file) ? "jsonl" : "csv";
};

function checkColumns(columns: string[]): void {
  const problem = columnProblem(columns);
  if (problem) throw new FileError(problem);
}

/** A field's text; CRLF line breaks (Windows tools write them inside quoted fields) become LF. */
const text = (value: unknown) =>
  value === undefined || value === null ? "" : String(value).replace(/\r\n?/g, "\n");

/**
 * The rows of a CSV (RFC 4180, UTF-8 with or without BOM, a header naming the columns in
 * any order) or JSON Lines file, read as a stream.
 */
export async function* readRows(file: string, format: FileFormat): AsyncGenerator<FileRow> {
  const input = createReadStream(file);
  if (format === "jsonl") {
    const lines = (await import("node:readline")).createInterface({ input, crlfDelay: Infinity });
    let line = 0;
    for await (const raw of lines) {
      line += 1;
      if (raw.trim() === "") continue;
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        throw new FileError(`line ${line}: not a JSON object`);
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new FileError(`line ${line}: not a JSON object`);
      }
      const keys = Object.keys(value).map((k) =>
        k === "referenceNumber" ? "reference_number" : k,
      );
      checkColumns(keys.includes("name") ? keys : [...keys, "name"]);
      yield {
        line,
        name: text(value.name),
        referenceNumber: text(value.reference_number ?? value.referenceNumber),
        description: text(value.description),
      };
    }
    return;
  }
  const parser = input.pipe(
    parse({
      bom: true,
      columns: (header: string[]) => {
        checkColumns(header);
        return header;
      },
      info: true,
    }),
  );
  // csv-parse counts lines up to a record's end; a record starts after the one before.
  let ended = 1;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: Record<string, string>;
      info: { lines: number };
    }>) {
      const line = ended + 1;
      ended = info.lines;
      yield {
        line,
        name: text(record.name),
        referenceNumber: text(record.reference_number),
        description: text(record.description),
      };
    }
  } catch (err) {
    if (err instanceof FileError) throw err;
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof FileError) throw cause;
    throw new FileError(`not a valid CSV file: ${(err as Error).message}`);
  }
}
