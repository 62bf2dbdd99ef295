/**
 * A closed-loop load generator for CreateCustomer (and, with `update`, UpdateCustomer), for
 * `npm run bench:rpc` and `bench:feed` (h2load sends one fixed body, and every create needs
 * a name of its own, every update a new value). `concurrency` callers each send a call and
 * wait for its answer, for `duration` seconds after one second of warm-up; prints
 * {calls, rps, p50, p99, failed} as one JSON line. Updates change the description of 64
 * customers the run creates first (not measured), round robin.
 *
 *   tsx bench/create-load.ts <port> <grpc|connect-proto|connect-json-http1> <concurrency> <duration s> [create|update]
 */
import http from "node:http";
import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  CreateCustomerRequestSchema,
  CreateCustomerResponseSchema,
  UpdateCustomerRequestSchema,
} from "../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { grpcFrame, summarize } from "./h2load.js";

const [port, protocol, concurrencyArg, durationArg, rpc = "create"] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const durationMs = Number(durationArg) * 1000;
const SERVICE = "/customerinventory.v1.CustomerInventoryService";
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

/** The customers updates go to, created before the measured part. */
const targets: string[] = [];

/** The next call's method and binary request. */
function nextRequest(): { method: string; message: Uint8Array } {
  if (rpc === "update" && targets.length > 0) {
    const id = targets[sequence % targets.length] as string;
    sequence += 1;
    return {
      method: "UpdateCustomer",
      message: toBinary(
        UpdateCustomerRequestSchema,
        create(UpdateCustomerRequestSchema, {
          customer: { id, description: `update ${runId} ${sequence}` },
          updateMask: { paths: ["description"] },
        }),
      ),
    };
  }
  return {
    method: "CreateCustomer",
    message: toBinary(
      CreateCustomerRequestSchema,
      create(CreateCustomerRequestSchema, { customer: nextCustomer() }),
    ),
  };
}

function http2Caller(kind: "grpc" | "connect-proto"): {
  call: Call;
  create(): Promise<string>;
  close(): void;
} {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const send = (request: { method: string; message: Uint8Array }) =>
    new Promise<{ ok: boolean; body: Buffer }>((resolve) => {
      const { method, message } = request;
      const chunks: Buffer[] = [];
      const stream = session.request({
        ":method": "POST",
        ":path": `${SERVICE}/${method}`,
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
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("close", () => resolve({ ok, body: Buffer.concat(chunks) }));
      stream.on("error", () => resolve({ ok: false, body: Buffer.alloc(0) }));
      stream.end(kind === "grpc" ? grpcFrame(message) : message);
    });
  return {
    call: async () => (await send(nextRequest())).ok,
    async create() {
      const { body } = await send({
        method: "CreateCustomer",
        message: toBinary(
          CreateCustomerRequestSchema,
          create(CreateCustomerRequestSchema, { customer: nextCustomer() }),
        ),
      });
      const bytes = kind === "grpc" ? body.subarray(5) : body;
      return fromBinary(CreateCustomerResponseSchema, bytes).customer?.id ?? "";
    },
    close: () => session.close(),
  };
}

function http1JsonCaller(): { call: Call; create(): Promise<string>; close(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const call: Call = () =>
    new Promise((resolve) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port: Number(port),
          path: `${SERVICE}/CreateCustomer`,
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
  return {
    call,
    create: () => Promise.reject(new Error("updates are measured over HTTP/2")),
    close: () => agent.destroy(),
  };
}

async function main() {
  const caller =
    protocol === "connect-json-http1"
      ? http1JsonCaller()
      : http2Caller(protocol === "grpc" ? "grpc" : "connect-proto");
  if (rpc === "update") {
    for (let i = 0; i < 64; i++) targets.push(await caller.create());
  }
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
