import { randomBytes } from "node:crypto";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CustomerInventoryService } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { createApp } from "../../src/app.js";
import { createLogger } from "../../src/observability/log.js";
import { createDatabase } from "../../src/store/db.js";
import { callError } from "../support/errors.js";
import { startTestServer, type TestServer, transportKinds } from "../support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe("x-request-id", () => {
  it("echoes the caller's request id and generates one otherwise", async () => {
    const { inventory } = server.clients("connect-json");
    const seen: (string | null)[] = [];
    await inventory.listCustomers(
      {},
      {
        headers: { "x-request-id": "trace-123" },
        onHeader: (h) => seen.push(h.get("x-request-id")),
      },
    );
    await inventory.listCustomers({}, { onHeader: (h) => seen.push(h.get("x-request-id")) });
    expect(seen[0]).toBe("trace-123");
    expect(seen[1]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("comes back on errors too", async () => {
    const err = await callError(() =>
      server
        .clients("grpc")
        .inventory.getCustomer({ id: "x" }, { headers: { "x-request-id": "trace-err" } }),
    );
    expect(err.requestId).toBe("trace-err");
  });
});

describe.each(transportKinds)("unexpected errors over %s", (kind) => {
  it("become INTERNAL with the request id, logged in full and leaking nothing", async () => {
    const other = await startTestServer();
    try {
      const { customer } = await other
        .clients(kind)
        .inventory.createCustomer({ customer: { name: "x" } });
      // DeleteCustomer reads service_instances, which no longer exists: a bug-like failure.
      await other.database.db.execute("drop table service_instances");
      const internal = await callError(() =>
        other
          .clients(kind)
          .inventory.deleteCustomer(
            { id: customer?.id ?? "" },
            { headers: { "x-request-id": "req-internal" } },
          ),
      );
      expect(internal.code).toBe(Code.Internal);
      expect(internal.message).toBe("internal error (request id req-internal)");
      expect(internal.reason).toBe("INTERNAL");
      expect(internal.metadata.request_id).toBe("req-internal");
      const logged = other.logs.find((l) => l.requestId === "req-internal" && l.level === "error");
      expect(JSON.stringify(logged)).toContain("service_instances");
    } finally {
      await other.close();
    }
  });
});

describe("an unreachable database", () => {
  it("gives UNAVAILABLE with the request id, not INTERNAL", async () => {
    const unreachable = createDatabase({
      url: "postgres://nobody@127.0.0.1:1/none",
      poolSize: 1,
      statementTimeoutMs: 1000,
      connectTimeoutSeconds: 2,
    });
    const app = createApp({
      database: unreachable,
      logger: createLogger({ level: "silent", destination: { write: () => {} } }),
      pageTokenSecret: randomBytes(32),
      maxMessageBytes: 1024 * 1024,
    });
    const { port } = await app.listen(0, "127.0.0.1");
    try {
      const client = createClient(
        CustomerInventoryService,
        createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "2" }),
      );
      const err = await callError(() =>
        client.getCustomer(
          { id: "01ARZ3NDEKTSV4RRFFQ69G5FAV" },
          { headers: { "x-request-id": "r-1" } },
        ),
      );
      expect(err.code).toBe(Code.Unavailable);
      expect(err.reason).toBe("DATABASE_UNAVAILABLE");
      expect(err.message).toContain("r-1");
    } finally {
      await app.close(1000);
      await unreachable.close();
    }
  });
});

describe.each(["grpc", "connect-json"] as const)("message size over %s", (kind) => {
  let sized: TestServer;
  beforeAll(async () => {
    sized = await startTestServer();
  });
  afterAll(() =>
    sized.close({
      // It answers at once; connect-node then stops sending the rest of the body without
      // ending its request stream, which stays open until the server cuts it.
      cutsOpenCalls: "connect-node leaves the stream of a refused oversized request open",
    }),
  );

  it("answers RESOURCE_EXHAUSTED for a request over 4 MiB and keeps serving", async () => {
    const { inventory } = sized.clients(kind);
    const err = await callError(() =>
      inventory.createCustomer({
        customer: { name: "big", description: "x".repeat(5 * 1024 * 1024) },
      }),
    );
    expect(err.code).toBe(Code.ResourceExhausted);
    expect((await inventory.listCustomers({ search: "big" })).totalSize).toBe(0);
  });
});
