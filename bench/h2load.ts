import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";

/** Shared pieces of the h2load benchmarks: request bodies and latency summaries. */

export function requireH2load(): void {
  try {
    execFileSync("h2load", ["--version"], { stdio: "pipe" });
  } catch {
    throw new Error("h2load is missing: apt-get install -y nghttp2-client");
  }
}

/** A protobuf message as the body of a gRPC request: one uncompressed envelope. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** p50 and p99 of durations in milliseconds. */
export function summarize(durationsMs: number[]) {
  const sorted = [...durationsMs].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

/** The per-request durations, in milliseconds, of an h2load `--log-file`. */
export function readLatencyLog(file: string): number[] {
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((line) => Number(line.split("\t")[2]) / 1000);
}

/** Runs a TypeScript load generator of bench/ on CPU 1 and parses the JSON line it prints. */
export async function runOnCpu1<T>(script: string, args: (string | number)[]): Promise<T> {
  const { stdout } = await promisify(execFile)(
    "taskset",
    ["-c", "1", process.execPath, "--import", "tsx", script, ...args.map(String)],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout) as T;
}
