/**
 * A closed-loop load generator for CreateCustomer, for `npm run bench:rpc` (h2load sends one
 * fixed body, and every create needs a name of its own). `concurrency` callers each send a
 * call and wait for its answer, for `duration` seconds after one second of warm-up; prints
 * {calls, rps, p50, p99, failed} as one JSON line.
 *
 *   tsx bench/create-load.ts <port> <grpc|connect-proto|connect-json-http1> <concurrency> <duration s>
 */
import http from "node:http";
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { CreateCustomerRequestSchema } from "../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { grpcFrame, summarize } from "./h2load.js";

const [port, protocol, concurrencyArg, durationArg] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const durationMs = Number(durationArg) * 1000;
const path = "/customerinventory.v1.CustomerInventoryService/CreateCustomer";
const runId = `${process.pid.toString(36)}${Date.now().toString(36)}`;
let sequence = 0;

function nextCustomer() {
  sequence += 1;
  return {
    name: `Bench ${runId} ${sequence}`,
    referenceNumber: `CRM-${runId}-${sequence}`,
    description: "created by the CreateCustomer benchmark",
  };
}

/** Sends one call; resolves to whether it succeeded. */
type Call = () => Promise<boolean>;

function http2Caller(kind: "grpc" | "connect-proto"): { call: Call; close(): void } {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const call: Call = () =>
    new Promise((resolve) => {
      const message = toBinary(
        CreateCustomerRequestSchema,
        create(CreateCustomerRequestSchema, { customer: nextCustomer() }),
      );
      const stream = session.request({
        ":method": "POST",
        ":path": path,
        ...(kind === "grpc"
          ? { "content-type": "application/grpc", te: "trailers" }
          : { "content-type": "application/proto" }),
      });
      let ok = false;
      stream.on("response", (headers) => {
        ok = kind === "grpc" ? headers["grpc-status"] === "0" : headers[":status"] === 200;
      });
      stream.on("trailers", (trailers) => {
        ok = trailers["grpc-status"] === "0";
      });
      stream.on("data", () => {});
      stream.on("close", () => resolve(ok));
      stream.on("error", () => resolve(false));
      stream.end(kind === "grpc" ? grpcFrame(message) : message);
    });
  return { call, close: () => session.close() };
}

function http1JsonCaller(): { call: Call; close(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const call: Call = () =>
    new Promise((resolve) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port: Number(port),
          path,
          method: "POST",
          agent,
          headers: { "content-type": "application/json" },
        },
        (res) => {
          res.on("data", () => {});
          res.on("end", () => resolve(res.statusCode === 200));
        },
      );
      req.on("error", () => resolve(false));
      req.end(JSON.stringify({ customer: nextCustomer() }));
    });
  return { call, close: () => agent.destroy() };
}

async function main() {
  const caller =
    protocol === "connect-json-http1"
      ? http1JsonCaller()
      : http2Caller(protocol === "grpc" ? "grpc" : "connect-proto");
  const start = performance.now();
  const measureFrom = start + 1000;
  const end = measureFrom + durationMs;
  const latencies: number[] = [];
  let failed = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const sent = performance.now();
      const ok = await caller.call();
      const done = performance.now();
      if (sent < measureFrom) continue;
      if (ok) latencies.push(done - sent);
      else failed += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  caller.close();
  process.stdout.write(
    `${JSON.stringify({
      calls: latencies.length,
      rps: latencies.length / (durationMs / 1000),
      ...summarize(latencies),
      failed,
    })}\n`,
  );
}

await main();
