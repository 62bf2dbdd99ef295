import http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { create, toBinary, toJson } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateCustomerRequestSchema,
  CustomerInventoryService,
} from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { ServiceInstanceService } from "../../gen/customerinventory/v1/service_instance_service_pb.js";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  PreconditionFailureSchema,
  ResourceInfoSchema,
} from "../../gen/google/rpc/error_details_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { until } from "../support/until.js";

// Every RPC and error case of the contract, once through the gRPC fast path and once through
// Connect's own gRPC handler: what a client sees must be the same.

let fast: TestServer;
let connect: TestServer;
beforeAll(async () => {
  [fast, connect] = await Promise.all([
    startTestServer(),
    startTestServer({ grpcFastPath: false }),
  ]);
});
afterAll(() => Promise.all([fast.close(), connect.close()]));

/** Ids, times and etags differ between the two databases; the rest must not. */
const normalize = (value: unknown): unknown =>
  JSON.parse(
    JSON.stringify(value)
      .replace(/[0-7][0-9A-HJKMNP-TV-Z]{25}/g, "<id>")
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>")
      .replace(/"etag":"[^"]*"/g, '"etag":"<etag>"')
      .replace(/etag( |%20)[0-9A-HJKMNP-TV-Z]{16}/g, "etag$1<etag>")
      .replace(/"seconds":"\d+"/g, '"seconds":"<s>"')
      .replace(/"nanos":\d+/g, '"nanos":"<ns>"'),
  );

const detailSchemas = [
  ErrorInfoSchema,
  BadRequestSchema,
  PreconditionFailureSchema,
  ResourceInfoSchema,
] as const;

interface Outcome {
  step: string;
  result?: unknown;
  error?: { code: number; message: string; details: unknown[]; metadata: [string, string][] };
  header: [string, string][];
  trailer: [string, string][];
}

/** Runs the whole contract once against `server` over gRPC and records what came back. */
async function runContract(server: TestServer): Promise<Outcome[]> {
  const transport = server.transport("grpc");
  const inventory = createClient(CustomerInventoryService, transport);
  const instances = createClient(ServiceInstanceService, transport);
  const health = createClient(Health, transport);
  const outcomes: Outcome[] = [];
  const ids: Record<string, string> = {};
  let n = 0;
  const call = async <T>(step: string, run: (options: object) => Promise<T>) => {
    const header: [string, string][] = [];
    const trailer: [string, string][] = [];
    // The fast path never compresses a response; Connect names gzip once the client
    // accepts it (and compresses from 1 KiB). Clients read both alike.
    const keep = (into: [string, string][]) => (h: Headers) =>
      h.forEach((v, k) => {
        if (k !== "date" && k !== "grpc-encoding") {
          into.push([k, k === "grpc-message" ? decodeURIComponent(v) : v]);
        }
      });
    const options = {
      headers: { "x-request-id": `req-${++n}` },
      onHeader: keep(header),
      onTrailer: keep(trailer),
    };
    try {
      const result = await run(options);
      outcomes.push({ step, result, header, trailer });
      return result;
    } catch (err) {
      const e = ConnectError.from(err);
      const metadata: [string, string][] = [];
      e.metadata.forEach((v, k) => {
        // The details are compared decoded above (their bytes hold ids).
        if (k !== "date" && k !== "grpc-encoding" && k !== "grpc-status-details-bin") {
          metadata.push([k, k === "grpc-message" ? decodeURIComponent(v) : v]);
        }
      });
      outcomes.push({
        step,
        error: {
          code: e.code,
          message: e.rawMessage,
          details: detailSchemas.flatMap((schema) =>
            e.findDetails(schema).map((d) => toJson(schema, d as never)),
          ),
          metadata,
        },
        header,
        trailer,
      });
      return undefined;
    }
  };

  const created = await call("create customer", (o) =>
    inventory.createCustomer(
      { customer: { name: " Acme ", referenceNumber: "CRM-1", description: "x" }, requestId: "r1" },
      o,
    ),
  );
  ids.customer = created?.customer?.id ?? "";
  const etag = created?.customer?.etag ?? "";
  await call("create replay", (o) =>
    inventory.createCustomer(
      { customer: { name: " Acme ", referenceNumber: "CRM-1", description: "x" }, requestId: "r1" },
      o,
    ),
  );
  await call("request_id reused", (o) =>
    inventory.createCustomer({ customer: { name: "Other" }, requestId: "r1" }, o),
  );
  await call("create invalid", (o) =>
    inventory.createCustomer({ customer: { name: "", referenceNumber: "\u0000" } }, o),
  );
  await call("create duplicate", (o) =>
    inventory.createCustomer({ customer: { name: "ACME" } }, o),
  );
  await call("create validate_only", (o) =>
    inventory.createCustomer({ customer: { name: "Dry" }, validateOnly: true }, o),
  );
  await call("get", (o) => inventory.getCustomer({ id: ids.customer }, o));
  await call("get unknown", (o) => inventory.getCustomer({ id: "01ARZ3NDEKTSV4RRFFQ69G5FAV" }, o));
  await call("get malformed", (o) => inventory.getCustomer({ id: "nope" }, o));
  await call("update", (o) =>
    inventory.updateCustomer(
      {
        customer: { id: ids.customer, description: "new" },
        updateMask: create(FieldMaskSchema, { paths: ["description"] }),
      },
      o,
    ),
  );
  await call("update stale etag", (o) =>
    inventory.updateCustomer({ customer: { id: ids.customer, name: "B", etag } }, o),
  );
  await call("update bad mask", (o) =>
    inventory.updateCustomer(
      {
        customer: { id: ids.customer },
        updateMask: create(FieldMaskSchema, { paths: ["colour"] }),
      },
      o,
    ),
  );
  const instance = await call("create instance by name", (o) =>
    instances.createServiceInstance(
      { serviceInstance: { customerName: "acme", name: "vpn-1", serviceType: "L3VPN" } },
      o,
    ),
  );
  ids.instance = instance?.serviceInstance?.id ?? "";
  await call("create instance unknown customer", (o) =>
    instances.createServiceInstance(
      { serviceInstance: { customerName: "nobody", name: "x", serviceType: "L3VPN" } },
      o,
    ),
  );
  await call("get instance", (o) => instances.getServiceInstance({ id: ids.instance }, o));
  await call("list instances", (o) =>
    inventory.listServiceInstances({ customerId: ids.customer }, o),
  );
  await call("refused delete", (o) => inventory.deleteCustomer({ id: ids.customer }, o));
  await call("list", (o) =>
    inventory.listCustomers({ filter: 'name = "acme"', orderBy: "create_time desc" }, o),
  );
  await call("list bad filter", (o) => inventory.listCustomers({ filter: "nmae = 1" }, o));
  await call("list bad token", (o) => inventory.listCustomers({ pageToken: "garbage" }, o));
  const saved = await call("create saved filter", (o) =>
    inventory.createSavedFilter({ savedFilter: { displayName: "Mine", search: "acme" } }, o),
  );
  await call("list saved filters", (o) => inventory.listSavedFilters({}, o));
  await call("get saved filter", (o) =>
    inventory.getSavedFilter({ id: saved?.savedFilter?.id ?? "" }, o),
  );
  await call("delete saved filter", (o) =>
    inventory.deleteSavedFilter({ id: saved?.savedFilter?.id ?? "" }, o),
  );
  await call("delete instance", (o) => instances.deleteServiceInstance({ id: ids.instance }, o));
  await call("delete customer", (o) => inventory.deleteCustomer({ id: ids.customer }, o));
  await call("delete again", (o) => inventory.deleteCustomer({ id: ids.customer }, o));
  await call("health", (o) => health.check({}, o));
  await call("expired deadline", (o) =>
    inventory.listCustomers({}, { ...o, timeoutMs: 1, signal: undefined }),
  );
  return outcomes.map((o) => ({
    ...o,
    result: o.result === undefined ? undefined : normalize(toJsonLoose(o.result)),
    error: o.error && (normalize(o.error) as Outcome["error"]),
  }));
}

/** Response messages as JSON, with their message type. */
function toJsonLoose(message: unknown): unknown {
  const m = message as { $typeName?: string };
  return {
    type: m.$typeName,
    json: JSON.parse(JSON.stringify(m, (_, v) => (typeof v === "bigint" ? String(v) : v))),
  };
}

describe("gRPC fast path", () => {
  it("answers every RPC and error case of the contract as Connect's handler does", async () => {
    const viaFast = await runContract(fast);
    const viaConnect = await runContract(connect);
    expect(viaFast.map((o) => o.step)).toEqual(viaConnect.map((o) => o.step));
    for (let i = 0; i < viaFast.length; i++) {
      expect(viaFast[i], viaFast[i]?.step).toEqual(viaConnect[i]);
    }
    // It really was the fast path on one side and not on the other.
    const served = (s: TestServer) => s.logs.filter((l) => l.msg === "call" && l.fastPath).length;
    expect(served(fast)).toBeGreaterThan(20);
    expect(served(connect)).toBe(0);
  });
});

/** One raw HTTP/2 gRPC request; the status, the headers and trailers that matter, the body. */
async function raw(server: TestServer, body: Buffer, headers: Record<string, string> = {}) {
  const session = http2.connect(server.baseUrl);
  try {
    return await new Promise<Record<string, unknown>>((resolve, reject) => {
      const stream = session.request({
        ":method": "POST",
        ":path": "/customerinventory.v1.CustomerInventoryService/GetCustomer",
        "content-type": "application/grpc",
        te: "trailers",
        // The same id on both sides, so that messages that carry it compare equal.
        "x-request-id": "differential",
        ...headers,
      });
      const out: Record<string, unknown> = {};
      const chunks: Buffer[] = [];
      stream.on("response", (h) => {
        out.status = h[":status"];
        out.requestId = h["x-request-id"];
        out.contentType = h["content-type"];
        out.headerStatus = h["grpc-status"];
        out.headerMessage = h["grpc-message"];
      });
      stream.on("trailers", (t) => {
        out.grpcStatus = t["grpc-status"];
        out.grpcMessage = t["grpc-message"];
      });
      stream.on("data", (d: Buffer) => chunks.push(d));
      stream.on("end", () => {
        out.body = Buffer.concat(chunks).toString("base64");
        resolve(out);
      });
      stream.on("error", reject);
      stream.end(body);
    });
  } finally {
    session.close();
  }
}

const frame = (message: Uint8Array, flag = 0, length = message.length) => {
  const out = Buffer.alloc(5 + message.length);
  out[0] = flag;
  out.writeUInt32BE(length, 1);
  out.set(message, 5);
  return out;
};

describe("gRPC fast path on malformed, compressed, oversized and timed calls", () => {
  const get = toBinary(
    CreateCustomerRequestSchema,
    create(CreateCustomerRequestSchema, { customer: { name: "x" } }),
  );
  const cases: [string, Buffer, Record<string, string>?][] = [
    ["an empty body", Buffer.alloc(0)],
    ["half an envelope", Buffer.from([0, 0, 0])],
    ["a length beyond the body", frame(get, 0, get.length + 10)],
    ["two messages", Buffer.concat([frame(get), frame(get)])],
    ["garbage protobuf", frame(Buffer.from([0xff, 0xff, 0xff, 0xff]))],
    ["a compressed flag without grpc-encoding", frame(get, 1)],
    ["a gzip-compressed message", frame(gzipSync(get), 1), { "grpc-encoding": "gzip" }],
    ["an unknown grpc-encoding", frame(get, 1), { "grpc-encoding": "snappy" }],
    ["a message over 4 MiB", frame(Buffer.alloc(0), 0, 5 * 1024 * 1024)],
    ["a malformed grpc-timeout", frame(get), { "grpc-timeout": "soon" }],
    ["a deadline far away", frame(get), { "grpc-timeout": "10S" }],
  ];
  it.each(cases)("answers %s as Connect does", async (_, body, headers) => {
    const [a, b] = [await raw(fast, body, headers), await raw(connect, body, headers)];
    expect(a).toEqual(b);
  });
});

describe("gRPC fast path and abrupt clients", () => {
  it("lets a client reset a call mid-message without leaving it waiting or taking the server down", async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `reset-mid-message-${i}`);
    for (const id of ids) {
      const session = http2.connect(fast.baseUrl);
      const stream = session.request({
        ":method": "POST",
        ":path": "/customerinventory.v1.CustomerInventoryService/GetCustomer",
        "content-type": "application/grpc",
        te: "trailers",
        "x-request-id": id,
      });
      stream.on("error", () => {});
      stream.write(Buffer.from([0, 0, 0, 0, 100, 1, 2])); // promises 100 bytes, sends 2
      await new Promise((r) => setTimeout(r, 5));
      stream.close(http2.constants.NGHTTP2_CANCEL);
      session.destroy();
    }
    // Not left waiting for the rest of a body that never comes: each call ends, once, and
    // not as a success. (Node ends a reset stream's body as if it were complete, so the
    // server may answer the cut-off message as malformed before it learns of the reset.)
    const ended = (id: string) => fast.logs.filter((l) => l.msg === "call" && l.requestId === id);
    await until(() => ids.every((id) => ended(id).length > 0), 5_000, "every reset call to end");
    for (const id of ids) {
      expect(ended(id), id).toHaveLength(1);
      expect(["canceled", "invalid_argument"], id).toContain(ended(id)[0]?.code);
    }
    // And the server still answers, with what it has.
    const inventory = createClient(CustomerInventoryService, fast.transport("grpc"));
    const { customer } = await inventory.createCustomer({ customer: { name: "after resets" } });
    const got = await inventory.getCustomer({ id: customer?.id ?? "" });
    expect(got.customer?.name).toBe("after resets");
  });
});
