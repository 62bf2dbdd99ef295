import { randomBytes } from "node:crypto";
import http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { Code } from "@connectrpc/connect";
import { codeFromString } from "@connectrpc/connect/protocol-connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CustomerInventoryService } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { ServiceInstanceService } from "../../gen/customerinventory/v1/service_instance_service_pb.js";
import { orderText, parseOrderBy } from "../../src/filter/order-by.js";
import { createPageTokenCodec } from "../../src/service/page-token.js";
import { errorOf } from "../support/errors.js";
import { type Clients, startTestServer, type TestServer } from "../support/server.js";

// A corpus of hostile and malformed input (docs/reliability.md describes it), each
// sent over gRPC, gRPC-Web and Connect JSON: the exact code, no SQL or stack in what comes
// back, nothing written, and the server still answering afterwards.

const kinds = ["grpc", "grpc-web", "connect-json"] as const;
type Kind = (typeof kinds)[number];

const SECRET = randomBytes(32);
const defaultOrder = orderText(parseOrderBy("", "order_by", []) ?? []);
let server: TestServer;
let seed: { id: string; etag: string; withInstances: string; token: string };

beforeAll(async () => {
  server = await startTestServer({ pageTokenSecret: SECRET });
  const { inventory, instances } = server.clients();
  const { customer } = await inventory.createCustomer({
    customer: { name: "Seed Networks", referenceNumber: "CRM-1" },
    requestId: "seed-request",
  });
  const { customer: busy } = await inventory.createCustomer({ customer: { name: "Busy" } });
  await instances.createServiceInstance({
    serviceInstance: { customerId: busy?.id, name: "vpn", serviceType: "L3VPN" },
  });
  await inventory.createCustomer({ customer: { name: "Another" } });
  const page = await inventory.listCustomers({ pageSize: 1 });
  seed = {
    id: customer?.id ?? "",
    etag: customer?.etag ?? "",
    withInstances: busy?.id ?? "",
    token: page.nextPageToken,
  };
});
afterAll(() => server.close());

interface Outcome {
  code: Code | 0;
  text: string;
}

async function outcomeOf(call: () => Promise<unknown>): Promise<Outcome> {
  const e = await errorOf(call);
  return e
    ? { code: e.code, text: `${e.rawMessage} ${JSON.stringify(e.details)}` }
    : { code: 0, text: "" };
}

const list = (req: Record<string, unknown>) => (c: Clients) => c.inventory.listCustomers(req);
const createCustomer =
  (customer: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  (c: Clients) =>
    c.inventory.createCustomer({ customer, ...extra });
const update = (customer: Record<string, unknown>, paths: string[]) => (c: Clients) =>
  c.inventory.updateCustomer({ customer: { id: seed.id, ...customer }, updateMask: { paths } });
const get = (id: string) => (c: Clients) => c.inventory.getCustomer({ id });
/**
 * A watch, until its first message (or its error). Cancelled by its signal: a connect-es
 * client that only breaks out of the loop leaves the stream open.
 */
const firstWatchMessage = (req: Record<string, unknown>) => async (c: Clients) => {
  const abort = new AbortController();
  try {
    for await (const message of c.inventory.watchCustomerChanges(req, { signal: abort.signal })) {
      return message;
    }
  } finally {
    abort.abort();
  }
  return undefined;
};

const nested = (depth: number) => `${"(".repeat(depth)}name = "a"${")".repeat(depth)}`;
const tamper = (token: string) =>
  token.slice(0, 10) + (token[10] === "A" ? "B" : "A") + token.slice(11);

/** Typed calls: hostile values in well-formed messages. */
const typedCases: [string, (c: Clients) => Promise<unknown>, Code | 0, RegExp?][] = [
  [
    "filter: quoted SQL injection is only a value",
    list({ filter: `name = "x'; DROP TABLE customers;--"` }),
    0,
  ],
  ["filter: unquoted injection", list({ filter: `name = x' OR '1'='1` }), Code.InvalidArgument],
  ["filter: ) OR 1=1 --", list({ filter: ") OR 1=1 --" }), Code.InvalidArgument],
  ["filter: unbalanced (", list({ filter: '((name = "a")' }), Code.InvalidArgument],
  ["filter: unbalanced )", list({ filter: 'name = "a")' }), Code.InvalidArgument],
  ["filter: dangling AND", list({ filter: 'name = "a" AND' }), Code.InvalidArgument],
  ["filter: bare NOT", list({ filter: "NOT" }), Code.InvalidArgument],
  ["filter: unknown field", list({ filter: 'password_hash = "x"' }), Code.InvalidArgument],
  ["filter: hidden column", list({ filter: 'search_text = "x"' }), Code.InvalidArgument],
  [
    "filter: number field with text",
    list({ filter: 'service_instance_count = "abc"' }),
    Code.InvalidArgument,
  ],
  ["filter: bad timestamp", list({ filter: 'create_time > "yesterday"' }), Code.InvalidArgument],
  ["filter: function call", list({ filter: "pg_sleep(10)" }), Code.InvalidArgument],
  ["filter: 5,000 nested parentheses", list({ filter: nested(5_000) }), Code.InvalidArgument],
  [
    "filter: 500 OR terms",
    list({ filter: Array(500).fill('name = "a"').join(" OR ") }),
    Code.InvalidArgument,
  ],
  ["filter: 100 KB", list({ filter: `name = "${"a".repeat(100_000)}"` }), Code.InvalidArgument],
  ["filter: NUL", list({ filter: 'name = "a\u0000"' }), Code.InvalidArgument],
  ["filter: white space only", list({ filter: " \t\n " }), 0],
  ["search: LIKE wildcards are literal", list({ search: "%_%" }), 0],
  ["search: trailing backslash", list({ search: "abc\\" }), 0],
  ["search: NUL", list({ search: "a\u0000b" }), Code.InvalidArgument],
  ["search: 10 KB", list({ search: "a".repeat(10_000) }), Code.InvalidArgument],
  ["order_by: injection", list({ orderBy: "name; DROP TABLE x" }), Code.InvalidArgument],
  ["order_by: unknown field", list({ orderBy: "unknown_field desc" }), Code.InvalidArgument],
  ["order_by: bad direction", list({ orderBy: "name sideways" }), Code.InvalidArgument],
  ["page_size: negative", list({ pageSize: -1 }), Code.InvalidArgument],
  ["page_size: huge is coerced", list({ pageSize: 2_147_483_647 }), 0],
  ["page_token: garbage", list({ pageToken: "garbage" }), Code.InvalidArgument],
  [
    "page_token: tampered",
    (c) => list({ pageSize: 1, pageToken: tamper(seed.token) })(c),
    Code.InvalidArgument,
  ],
  [
    "page_token: reused with another filter",
    (c) => list({ filter: 'name = "a*"', pageToken: seed.token })(c),
    Code.InvalidArgument,
  ],
  [
    "page_token: signed by another deployment",
    list({
      pageToken: createPageTokenCodec({ secret: randomBytes(32) }).encode(
        { rpc: "ListCustomers", query: ["", "", "", "", defaultOrder] },
        ["a", "b"],
      ),
    }),
    Code.InvalidArgument,
    /not a valid page token/,
  ],
  [
    "page_token: expired",
    list({
      pageToken: createPageTokenCodec({
        secret: SECRET,
        now: () => Date.now() - 30 * 86_400_000,
      }).encode({ rpc: "ListCustomers", query: ["", "", "", "", defaultOrder] }, ["a", "b"]),
    }),
    Code.InvalidArgument,
    /has expired/,
  ],
  ["page_token: 2 MB", list({ pageToken: "A".repeat(2_000_000) }), Code.InvalidArgument],
  [
    "saved_filter_id: unknown",
    list({ savedFilterId: "01ARZ3NDEKTSV4RRFFQ69G5FAV" }),
    Code.NotFound,
  ],
  ["name: blank", createCustomer({ name: "   " }), Code.InvalidArgument],
  ["name: empty", createCustomer({ name: "" }), Code.InvalidArgument],
  ["name: 100,000 characters", createCustomer({ name: "n".repeat(100_000) }), Code.InvalidArgument],
  ["name: control character", createCustomer({ name: "bell\u0007" }), Code.InvalidArgument],
  ["name: bidi override", createCustomer({ name: "evil\u202Egnp.exe" }), Code.InvalidArgument],
  ["name: NUL", createCustomer({ name: "nul\u0000" }), Code.InvalidArgument],
  [
    "name: SQL",
    createCustomer({ name: "Robert'); DROP TABLE customers;--", description: "\u0000" }),
    Code.InvalidArgument,
  ],
  [
    "reference_number: line break",
    createCustomer({ name: "r", referenceNumber: "CRM\n1" }),
    Code.InvalidArgument,
  ],
  [
    "description: 1 MB",
    createCustomer({ name: "d", description: "d".repeat(1_000_000) }),
    Code.InvalidArgument,
  ],
  ["name: taken (case differs)", createCustomer({ name: "SEED networks" }), Code.AlreadyExists],
  ["id: path traversal", get("customers/../x"), Code.InvalidArgument],
  ["id: SQL", get("' OR 1=1 --"), Code.InvalidArgument],
  ["id: percent-encoded NUL", get("%00"), Code.InvalidArgument],
  ["id: 10,000 characters", get("0".repeat(10_000)), Code.InvalidArgument],
  ["id: well-formed, absent", get("01ARZ3NDEKTSV4RRFFQ69G5FAV"), Code.NotFound],
  ["update_mask: unknown path", update({ name: "x" }, ["no_such_field"]), Code.InvalidArgument],
  ["update_mask: indexed path", update({ name: "x" }, ["contacts[0].email"]), Code.InvalidArgument],
  ["update_mask: name emptied", update({ name: "" }, ["name"]), Code.InvalidArgument],
  [
    "update: stale etag",
    update({ description: "x", etag: "stale" }, ["description"]),
    Code.Aborted,
  ],
  [
    "request_id: control characters",
    createCustomer({ name: "q" }, { requestId: "id\u0001" }),
    Code.InvalidArgument,
  ],
  [
    "request_id: 65 characters",
    createCustomer({ name: "q" }, { requestId: "r".repeat(65) }),
    Code.InvalidArgument,
  ],
  [
    "request_id: reused for another request",
    createCustomer({ name: "other" }, { requestId: "seed-request" }),
    Code.InvalidArgument,
  ],
  [
    "saved filter: unparseable filter",
    (c) => c.inventory.createSavedFilter({ savedFilter: { displayName: "x", filter: "((" } }),
    Code.InvalidArgument,
  ],
  [
    "delete: customer with instances",
    (c) => c.inventory.deleteCustomer({ id: seed.withInstances }),
    Code.FailedPrecondition,
  ],
  [
    "instance: no customer named",
    (c) =>
      c.instances.createServiceInstance({ serviceInstance: { name: "v", serviceType: "VPN" } }),
    Code.InvalidArgument,
  ],
  [
    "instance: bidi in service type",
    (c) =>
      c.instances.createServiceInstance({
        serviceInstance: { customerId: seed.id, name: "v", serviceType: "\u202EVPN" },
      }),
    Code.InvalidArgument,
  ],
  [
    "instances of: SQL as the customer id",
    (c) => c.inventory.listServiceInstances({ customerId: "' OR 1=1 --" }),
    Code.InvalidArgument,
  ],
  [
    "instances of: a page token of another list",
    (c) => c.inventory.listServiceInstances({ customerId: seed.id, pageToken: seed.token }),
    Code.InvalidArgument,
  ],
  [
    "saved filter: path traversal as the id",
    (c) => c.inventory.getSavedFilter({ id: "../../etc/passwd" }),
    Code.InvalidArgument,
  ],
  [
    "saved filters: negative page size",
    (c) => c.inventory.listSavedFilters({ pageSize: -1 }),
    Code.InvalidArgument,
  ],
  [
    "saved filter update: a NUL in the id",
    (c) =>
      c.inventory.updateSavedFilter({
        savedFilter: { id: "01ARZ3NDEKTSV4RRFFQ69G5FA\u0000", displayName: "x" },
      }),
    Code.InvalidArgument,
  ],
  [
    "saved filter delete: 10,000 characters of id",
    (c) => c.inventory.deleteSavedFilter({ id: "0".repeat(10_000) }),
    Code.InvalidArgument,
  ],
  [
    "instance: SQL as the id",
    (c) => c.instances.getServiceInstance({ id: "1; DROP TABLE service_instances" }),
    Code.InvalidArgument,
  ],
  [
    "instance delete: well-formed, absent",
    (c) => c.instances.deleteServiceInstance({ id: "01ARZ3NDEKTSV4RRFFQ69G5FAV" }),
    Code.NotFound,
  ],
  [
    "ListCustomerChanges filter: quoted SQL injection is only a value",
    (c) =>
      c.inventory.listCustomerChanges({ filter: `actor = "x'; DROP TABLE customer_changes;--"` }),
    0,
  ],
  [
    "ListCustomerChanges filter: a customer field",
    (c) => c.inventory.listCustomerChanges({ filter: `name = "x"` }),
    Code.InvalidArgument,
  ],
  [
    "ListCustomerChanges page_token: a ListCustomers token",
    (c) => c.inventory.listCustomerChanges({ pageToken: seed.token }),
    Code.InvalidArgument,
  ],
  [
    "ListCustomerChanges customer_id: injection",
    (c) => c.inventory.listCustomerChanges({ customerId: "' OR 1=1 --" }),
    Code.InvalidArgument,
  ],
  [
    "BatchGetCustomers ids: injection",
    (c) => c.inventory.batchGetCustomers({ ids: ["' OR 1=1 --"] }),
    Code.InvalidArgument,
  ],
  [
    "BatchGetCustomers ids: 1,001",
    (c) => c.inventory.batchGetCustomers({ ids: Array(1001).fill("01ARZ3NDEKTSV4RRFFQ69G5FAV") }),
    Code.InvalidArgument,
  ],
  [
    "ImportCustomers: a row with a NUL and a quoted injection",
    (c) =>
      c.inventory.importCustomers({
        customers: [{ name: "x\u0000" }, { name: "x'); DROP TABLE customers;--" }],
        validateOnly: true,
      }),
    Code.InvalidArgument,
  ],
  [
    "ImportCustomers: an unknown mode",
    (c) => c.inventory.importCustomers({ customers: [{ name: "x" }], mode: 99 as never }),
    Code.InvalidArgument,
  ],
  [
    "ExportCustomers filter: unquoted injection",
    async (c) => {
      for await (const m of c.inventory.exportCustomers({ filter: `name = x' OR '1'='1` }))
        return m;
      return undefined;
    },
    Code.InvalidArgument,
  ],
  [
    "WatchCustomerChanges start_after: injection",
    firstWatchMessage({ startAfter: "' OR 1=1 --" }),
    Code.InvalidArgument,
  ],
  [
    "WatchCustomerChanges start_after: a validly signed page token is not a cursor",
    (c) => firstWatchMessage({ startAfter: seed.token })(c),
    Code.InvalidArgument,
  ],
  [
    "WatchCustomerChanges filter: NUL",
    firstWatchMessage({ filter: `kind = "a\u0000"` }),
    Code.InvalidArgument,
  ],
];

/** Leaks of internals: SQL, driver names, stack frames, file paths. */
const leak =
  /\b(select|insert|update|delete)\b.*\b(from|into|set)\b|syntax error|postgres|drizzle|relation "|\.ts:\d+|\n\s+at |node_modules/i;

async function writtenRows() {
  const [row] = await server.database.db.execute(`
    select (select count(*) from customers) + (select count(*) from service_instances)
         + (select count(*) from saved_filters) + (select count(*) from idempotency_records) as n`);
  return Number(row?.n);
}

async function expectHealthyAndUnchanged(rowsBefore: number) {
  expect(await writtenRows()).toBe(rowsBefore);
  const { customer } = await server.clients("grpc").inventory.getCustomer({ id: seed.id });
  expect(customer?.name).toBe("Seed Networks");
}

describe("bad-input corpus: typed messages", () => {
  it.each(typedCases)("%s", async (_, call, code, message) => {
    const rows = await writtenRows();
    for (const kind of kinds) {
      const outcome = await outcomeOf(() => call(server.clients(kind)));
      expect(outcome.code, `${kind}: ${outcome.text}`).toBe(code);
      if (message) expect(outcome.text, kind).toMatch(message);
      expect(outcome.text, kind).not.toMatch(leak);
    }
    await expectHealthyAndUnchanged(rows);
  });
});

// Bytes no typed client sends. Each case gives the body and headers per protocol.
const createPath = "/customerinventory.v1.CustomerInventoryService/CreateCustomer";
const listPath = "/customerinventory.v1.CustomerInventoryService/ListCustomers";

/** protobuf: CreateCustomerRequest { customer { name = <bytes> } } */
const createWithNameBytes = (name: Buffer) => {
  const customer = Buffer.concat([Buffer.from([0x12, name.length]), name]);
  return Buffer.concat([Buffer.from([0x0a, customer.length]), customer]);
};
const envelope = (message: Buffer, compressed = false) => {
  const frame = Buffer.alloc(5 + message.length);
  frame[0] = compressed ? 1 : 0;
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
};
const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));

interface RawRequest {
  path: string;
  body: Buffer;
  headers?: Record<string, string>;
}
type RawKind = Kind | "connect-proto";
type RawCase = [string, Partial<Record<RawKind, RawRequest>>, Code | Record<RawKind, Code>];

/**
 * Connect answers an undecodable binary message with INTERNAL, as grpc-go and grpc-js do,
 * and undecodable JSON with INVALID_ARGUMENT (research #38 and #39); the lossy JSON decoder
 * turns invalid UTF-8 into U+FFFD, which validation refuses.
 */
const undecodable = {
  grpc: Code.Internal,
  "grpc-web": Code.Internal,
  "connect-json": Code.InvalidArgument,
  "connect-proto": Code.Internal,
};

const rawCases: RawCase[] = [
  [
    "invalid UTF-8 in a string",
    {
      grpc: {
        path: createPath,
        body: envelope(createWithNameBytes(Buffer.from([0xff, 0xfe, 0x41]))),
      },
      "grpc-web": {
        path: createPath,
        body: envelope(createWithNameBytes(Buffer.from([0xff, 0xfe, 0x41]))),
      },
      "connect-json": {
        path: createPath,
        body: Buffer.concat([
          Buffer.from('{"customer":{"name":"'),
          Buffer.from([0xff, 0xfe, 0x41]),
          Buffer.from('"}}'),
        ]),
      },
      "connect-proto": {
        path: createPath,
        body: createWithNameBytes(Buffer.from([0xff, 0xfe, 0x41])),
      },
    },
    undecodable,
  ],
  [
    "truncated message",
    {
      grpc: {
        path: createPath,
        body: envelope(createWithNameBytes(Buffer.from("abcdef")).subarray(0, 5)),
      },
      "grpc-web": {
        path: createPath,
        body: envelope(createWithNameBytes(Buffer.from("abcdef")).subarray(0, 5)),
      },
      "connect-json": { path: createPath, body: Buffer.from('{"customer":{"name":"abc') },
      "connect-proto": {
        path: createPath,
        body: createWithNameBytes(Buffer.from("abcdef")).subarray(0, 5),
      },
    },
    undecodable,
  ],
  [
    "frame shorter than its length prefix",
    {
      grpc: { path: createPath, body: envelope(Buffer.from("abcdef")).subarray(0, 8) },
      "grpc-web": { path: createPath, body: envelope(Buffer.from("abcdef")).subarray(0, 8) },
      "connect-json": { path: createPath, body: Buffer.from("[1,2") },
    },
    Code.InvalidArgument,
  ],
  [
    "a number out of range",
    {
      "connect-json": { path: listPath, body: Buffer.from('{"pageSize": 1e400}') },
    },
    Code.InvalidArgument,
  ],
  [
    "malformed timeout header",
    {
      grpc: { path: listPath, body: envelope(Buffer.alloc(0)), headers: { "grpc-timeout": "abc" } },
      "grpc-web": {
        path: listPath,
        body: envelope(Buffer.alloc(0)),
        headers: { "grpc-timeout": "abc" },
      },
      "connect-json": {
        path: listPath,
        body: Buffer.from("{}"),
        headers: { "connect-timeout-ms": "abc" },
      },
    },
    Code.InvalidArgument,
  ],
  [
    "a 5 MiB message",
    {
      grpc: { path: createPath, body: envelope(Buffer.alloc(5 * 1024 * 1024)) },
      "grpc-web": { path: createPath, body: envelope(Buffer.alloc(5 * 1024 * 1024)) },
      "connect-json": {
        path: createPath,
        body: Buffer.from(JSON.stringify({ customer: { name: "x".repeat(5 * 1024 * 1024) } })),
      },
    },
    Code.ResourceExhausted,
  ],
  [
    "a gzip bomb (64 KiB inflating to 64 MiB)",
    {
      grpc: { path: createPath, body: envelope(bomb, true), headers: { "grpc-encoding": "gzip" } },
      "grpc-web": {
        path: createPath,
        body: envelope(bomb, true),
        headers: { "grpc-encoding": "gzip" },
      },
      "connect-json": { path: createPath, body: bomb, headers: { "content-encoding": "gzip" } },
    },
    Code.ResourceExhausted,
  ],
];

const contentTypes: Record<RawKind, string> = {
  grpc: "application/grpc",
  "grpc-web": "application/grpc-web+proto",
  "connect-json": "application/json",
  "connect-proto": "application/proto",
};

/**
 * Sends raw bytes over HTTP/2 and reads the code the protocol carries back, its message
 * and the x-request-id header of the response.
 */
async function rawOutcome(
  kind: RawKind,
  request: RawRequest,
): Promise<Outcome & { requestId: string | undefined }> {
  const session = http2.connect(server.baseUrl);
  try {
    return await new Promise((resolve, reject) => {
      const stream = session.request({
        ":method": "POST",
        ":path": request.path,
        "content-type": contentTypes[kind],
        ...(kind === "grpc" ? { te: "trailers" } : {}),
        ...request.headers,
      });
      let status = 0;
      let headers: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on("response", (h) => {
        headers = h;
        status = Number(h[":status"]);
      });
      stream.on("trailers", (t) => {
        trailers = t;
      });
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("error", reject);
      // Waiting for "close", not "end": a refused stream must not stay open while the
      // client still has body to send.
      stream.on("close", () => {
        const body = Buffer.concat(chunks).toString("latin1");
        const requestId = headers["x-request-id"] as string | undefined;
        if (kind === "connect-json" || kind === "connect-proto") {
          if (status === 200) return resolve({ code: 0, text: "", requestId });
          if (!body.startsWith("{"))
            return resolve({ code: Code.Unknown, text: `${status} ${body}`, requestId });
          const parsed = JSON.parse(body) as { code: string; message?: string };
          return resolve({
            code: codeFromString(parsed.code) ?? Code.Unknown,
            text: parsed.message ?? "",
            requestId,
          });
        }
        const fields =
          kind === "grpc"
            ? { ...headers, ...trailers }
            : Object.fromEntries(
                [...body.matchAll(/grpc-(status|message):\s*([^\r\n]*)/g)].map((m) => [
                  `grpc-${m[1]}`,
                  m[2],
                ]),
              );
        const code = Number(fields["grpc-status"] ?? headers["grpc-status"]);
        resolve({
          code: code as Code | 0,
          text: decodeURIComponent(String(fields["grpc-message"] ?? headers["grpc-message"] ?? "")),
          requestId,
        });
      });
      stream.end(request.body);
    });
  } finally {
    session.destroy();
  }
}

let rawCalls = 0;

describe("bad-input corpus: raw bytes", () => {
  it.each(rawCases)("%s", async (_, requests, code) => {
    const rows = await writtenRows();
    const rssBefore = process.memoryUsage().rss;
    for (const [kind, request] of Object.entries(requests) as [RawKind, RawRequest][]) {
      const given = `raw-${++rawCalls}`;
      const outcome = await rawOutcome(kind, {
        ...request,
        headers: { "x-request-id": given, ...request.headers },
      });
      const expected = typeof code === "number" ? code : code[kind];
      expect(outcome.code, `${kind}: ${outcome.text}`).toBe(expected);
      expect(outcome.text, kind).not.toMatch(leak);
      // Refused before the service's code ran, the call still has its request id: in the
      // response header, in an INTERNAL message, and in the call's log line.
      expect(outcome.requestId, kind).toBe(given);
      if (expected === Code.Internal) expect(outcome.text, kind).toContain(`(request id ${given})`);
      const logged = server.logs.filter((l) => l.msg === "call" && l.requestId === given);
      expect(logged, kind).toHaveLength(1);
      expect(logged[0]?.code, kind).not.toBe("ok");
    }
    // A bomb is refused while inflating, not after: memory does not grow by its size.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(48 * 1024 * 1024);
    await expectHealthyAndUnchanged(rows);
  });
});

describe("bad-input corpus: reach", () => {
  // Runs after the corpora above (a file's tests run in order): a new RPC with no hostile
  // input sent to it fails here.
  it("has sent hostile input to every RPC of both services", () => {
    const reached = new Set(server.logs.filter((l) => l.msg === "call").map((l) => l.procedure));
    const unreached = [CustomerInventoryService, ServiceInstanceService]
      .flatMap((s) => s.methods.map((m) => `${s.typeName}/${m.name}`))
      .filter((procedure) => !reached.has(procedure));
    expect(unreached).toEqual([]);
  });
});
