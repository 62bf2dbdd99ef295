/**
 * Delivery latency of the change feed, for `npm run bench:feed`: `watchers` WatchCustomerChanges
 * streams (raw gRPC over HTTP/2, 200 per connection) while one writer creates `rate`
 * customers a second for `duration` seconds. A change's latency is the time from its
 * create's acknowledgement (the commit happened before it) to its arrival at a watcher; the
 * writer is alone, so the k-th change a watcher receives is the k-th create. Prints
 * {watchers, writes, deliveries, missing, p50, p99, max, writeRate} as one JSON line
 * (writeRate: the creates a second actually reached, lower than `rate` when the server lags).
 *
 *   tsx bench/watch-load.ts <port> <watchers> <rate per s> <duration s>
 */
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  CreateCustomerRequestSchema,
  WatchCustomerChangesRequestSchema,
} from "../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { grpcFrame, summarize } from "./h2load.js";

const [portArg, watchersArg, rateArg, durationArg] = process.argv.slice(2);
const port = Number(portArg);
const watcherCount = Number(watchersArg);
const rate = Number(rateArg);
const durationMs = Number(durationArg) * 1000;
const SERVICE = "/customerinventory.v1.CustomerInventoryService";
const PER_CONNECTION = 200;

/** Reads a varint at `at`; returns [value, next offset]. */
function varint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  let i = at;
  for (;;) {
    const b = bytes[i++] as number;
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [value, i];
    shift += 7;
  }
}

/** The length-delimited fields numbered `no` of a message (every field here is one). */
function fieldsOf(message: Uint8Array, no: number): Uint8Array[] {
  const found: Uint8Array[] = [];
  let at = 0;
  while (at < message.length) {
    const [tag, afterTag] = varint(message, at);
    if ((tag & 7) === 2) {
      const [length, afterLength] = varint(message, afterTag);
      if (tag >>> 3 === no) found.push(message.subarray(afterLength, afterLength + length));
      at = afterLength + length;
    } else if ((tag & 7) === 0) {
      at = varint(message, afterTag)[1];
    } else {
      throw new Error(`unexpected wire type ${tag & 7}`);
    }
  }
  return found;
}

const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? []).toString("utf8");

/** The customer ids of the changes (field 1; each one's field 5) in a watch message. */
const changedCustomers = (message: Uint8Array) =>
  fieldsOf(message, 1).map((change) => text(fieldsOf(change, 5)[0]));

/** One watcher: a stream whose gRPC frames are counted as they arrive. */
function watch(session: http2.ClientHttp2Session, onChanges: (ids: string[], at: number) => void) {
  const stream = session.request({
    ":method": "POST",
    ":path": `${SERVICE}/WatchCustomerChanges`,
    "content-type": "application/grpc",
    te: "trailers",
  });
  let pending: Buffer = Buffer.alloc(0);
  stream.on("data", (chunk: Buffer) => {
    const at = performance.now();
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 5) {
      const length = pending.readUInt32BE(1);
      if (pending.length < 5 + length) break;
      const ids = changedCustomers(pending.subarray(5, 5 + length));
      if (ids.length > 0) onChanges(ids, at);
      pending = pending.subarray(5 + length);
    }
  });
  stream.on("error", () => {});
  stream.end(
    grpcFrame(
      toBinary(WatchCustomerChangesRequestSchema, create(WatchCustomerChangesRequestSchema)),
    ),
  );
  return stream;
}

async function main() {
  const sessions = Array.from({ length: Math.ceil(watcherCount / PER_CONNECTION) }, () =>
    http2.connect(`http://127.0.0.1:${port}`),
  );
  const arrivals = Array.from({ length: watcherCount }, () => new Map<string, number>());
  let messages = 0;
  const streams = arrivals.map((times, i) =>
    watch(sessions[Math.floor(i / PER_CONNECTION)] as http2.ClientHttp2Session, (ids, at) => {
      messages += 1;
      for (const id of ids) times.set(id, at);
    }),
  );
  // Let every stream open (its first message, a heartbeat, carries no changes).
  await new Promise((r) => setTimeout(r, 2_000));

  const writer = http2.connect(`http://127.0.0.1:${port}`);
  const acknowledged = new Map<string, number>();
  const runId = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  let failed = 0;
  const createOne = (k: number) =>
    new Promise<void>((resolve) => {
      const stream = writer.request({
        ":method": "POST",
        ":path": `${SERVICE}/CreateCustomer`,
        "content-type": "application/grpc",
        te: "trailers",
      });
      let ok = false;
      const chunks: Buffer[] = [];
      stream.on("trailers", (t) => {
        ok = t["grpc-status"] === "0";
      });
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("close", () => {
        const at = performance.now();
        // CreateCustomerResponse.customer (1) .id (1), after the 5-byte gRPC frame header.
        const customer = fieldsOf(Buffer.concat(chunks).subarray(5), 1)[0];
        if (ok && customer) acknowledged.set(text(fieldsOf(customer, 1)[0]), at);
        else failed += 1;
        resolve();
      });
      stream.end(
        grpcFrame(
          toBinary(
            CreateCustomerRequestSchema,
            create(CreateCustomerRequestSchema, { customer: { name: `Watched ${runId} ${k}` } }),
          ),
        ),
      );
    });
  // Open loop, one create every 1/rate s whatever the answers take (at most 64 in flight).
  const writes = Math.round((rate * durationMs) / 1000);
  const start = performance.now();
  const inFlight = new Set<Promise<void>>();
  for (let k = 0; k < writes; k++) {
    const due = start + (k * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (inFlight.size >= 64) await Promise.race(inFlight);
    const write = createOne(k).then(() => {
      inFlight.delete(write);
    });
    inFlight.add(write);
  }
  await Promise.all(inFlight);
  const writesEnded = performance.now();
  await new Promise((r) => setTimeout(r, 2_000));

  const latencies: number[] = [];
  let missing = 0;
  for (const times of arrivals) {
    for (const [id, ack] of acknowledged) {
      const at = times.get(id);
      if (at === undefined) missing += 1;
      else latencies.push(Math.max(0, at - ack));
    }
  }
  for (const s of streams) s.close();
  for (const s of sessions) s.close();
  writer.close();
  const { p50, p99 } = summarize(latencies);
  process.stdout.write(
    `${JSON.stringify({
      watchers: watcherCount,
      writes,
      failed,
      deliveries: latencies.length,
      messages,
      missing,
      p50,
      p99,
      max: latencies.reduce((a, b) => Math.max(a, b), 0),
      writeRate: writes / ((writesEnded - start) / 1000),
    })}\n`,
  );
}

await main();
