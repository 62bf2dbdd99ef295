import { randomBytes } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CustomerInventoryService } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { ServiceInstanceService } from "../../gen/customerinventory/v1/service_instance_service_pb.js";
import { createApp } from "../../src/app.js";
import { createLogger } from "../../src/observability/log.js";
import { createStore } from "../../src/store/index.js";
import { callError } from "../support/errors.js";
import { type Clients, startTestServer, type TestServer } from "../support/server.js";
import { startWatch } from "../support/watch.js";

// How the feed behaves under load and at its edges: one reader for many watchers, a
// watcher that stops reading, replicas that cannot LISTEN, and shutdown.

/** A metric's value off /metrics. */
async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no metric ${name}`);
  return Number(line.split(" ")[1]);
}

/** gRPC clients on a connection of their own (a server allows 256 streams per connection). */
function ownConnection(server: TestServer): Clients {
  const transport = createGrpcTransport({ baseUrl: server.baseUrl });
  return {
    inventory: createClient(CustomerInventoryService, transport),
    instances: createClient(ServiceInstanceService, transport),
  };
}

describe("fan-out and backpressure", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ changeFeed: { bufferChanges: 100 } });
  });
  afterAll(() => server.close());

  it("serves 300 watchers from one reader: the database is read per change, not per watcher", async () => {
    const clients = server.clients("grpc");
    const connections = Array.from({ length: 6 }, () => ownConnection(server));
    const watchers = await Promise.all(
      Array.from({ length: 300 }, (_, i) => startWatch(connections[i % 6] as Clients)),
    );
    const readsBefore = await metric(server, "change_feed_reads_total");
    expect(await metric(server, "change_feed_watchers")).toBe(300);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { customer } = await clients.inventory.createCustomer({
        customer: { name: `fan-out ${i}` },
      });
      ids.push(customer?.id as string);
    }
    await Promise.all(watchers.map((w) => w.until((changes) => changes.length >= 20, 10_000)));
    for (const w of watchers) {
      expect(w.changes().map((c) => c.customerId)).toEqual(ids);
    }
    const reads = (await metric(server, "change_feed_reads_total")) - readsBefore;
    // One read per create at most, plus polls: far below one per watcher and change (6,000).
    expect(reads).toBeLessThan(20 * 3 + 20);
    expect(await metric(server, "change_feed_replays_total")).toBe(0);
    await Promise.all(watchers.map((w) => w.stop()));
  });

  it("cuts off a watcher that stops reading with RESOURCE_EXHAUSTED, holding no more than its buffer", async () => {
    const clients = server.clients("grpc");
    // On a connection of its own: a stream nobody reads holds its connection's HTTP/2
    // window, and the writes below would wait behind it.
    const stalled = ownConnection(server);
    const abort = new AbortController();
    const stream = stalled.inventory
      .watchCustomerChanges({}, { signal: abort.signal })
      [Symbol.asyncIterator]();
    const first = await stream.next();
    expect(first.done).toBe(false);
    const { customer } = await clients.inventory.createCustomer({
      customer: { name: "stalled watcher's target" },
    });
    // About 12 MB of changes while the watcher reads nothing: far past its HTTP/2 windows.
    const long = "x".repeat(1900);
    for (let i = 0; i < 1500; i++) {
      await clients.inventory.updateCustomer({
        customer: { id: customer?.id, description: `${i} ${long}` },
        updateMask: { paths: ["description"] },
      });
    }
    // The server holds the feed's bounded buffer, not a queue per watcher.
    expect(await metric(server, "change_feed_buffered_changes")).toBeLessThanOrEqual(100);
    // Reading again: what was in flight, then the end.
    let received = 0;
    const err = await callError(async () => {
      for (let next = await stream.next(); !next.done; next = await stream.next()) {
        received += next.value.changes.length;
      }
    });
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.reason).toBe("WATCHER_TOO_SLOW");
    // Only what was in flight came before the end, not the 1,500: the HTTP/2 and socket
    // buffers and one message of at most 100 changes (about 500 changes when measured).
    expect(received).toBeLessThan(900);
    abort.abort();
  });
});

describe("replicas", () => {
  it("delivers another replica's changes by polling when it cannot LISTEN", async () => {
    const server = await startTestServer({
      changeFeed: { listen: false, pollIntervalMs: 200 },
    });
    try {
      // Another replica: its own app on the same database (it does NOTIFY; nobody hears it).
      const other = createApp({
        database: server.database,
        logger: createLogger({ level: "silent", destination: { write: () => {} } }),
        pageTokenSecret: randomBytes(32),
        maxMessageBytes: 1 << 20,
      });
      const { port } = await other.listen(0, "127.0.0.1");
      const watcher = await startWatch(server.clients("connect-json"));
      const started = Date.now();
      await fetch(
        `http://127.0.0.1:${port}/customerinventory.v1.CustomerInventoryService/CreateCustomer`,
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ customer: { name: "from the other replica" } }),
        },
      );
      await watcher.until((changes) => changes.length === 1, 3_000);
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(watcher.changes()[0]?.customer?.name).toBe("from the other replica");
      await watcher.stop();
      await other.close(1_000);
    } finally {
      await server.close();
    }
  });

  it("with LISTEN, another process's change arrives long before the next poll", async () => {
    const server = await startTestServer({ changeFeed: { pollIntervalMs: 60_000 } });
    try {
      const watcher = await startWatch(server.clients("grpc"));
      // Written without this server: the store records, the NOTIFY wakes the server's reader.
      const store = createStore({ db: server.database.db });
      const customer = await store.customers.create(
        { name: "written elsewhere", referenceNumber: "", description: "" },
        { author: { actor: "", requestId: "elsewhere" } },
      );
      await store.changes.notify("another process");
      await watcher.until((changes) => changes.length === 1, 3_000);
      expect(watcher.changes()[0]?.customerId).toBe(customer.id);
      await watcher.stop();
    } finally {
      await server.close();
    }
  });
});

describe("deadlines", () => {
  it("does not apply the server's default deadline to a watch", async () => {
    const server = await startTestServer({
      defaultDeadlineMs: 300,
      changeFeed: { heartbeatMs: 100 },
    });
    try {
      const watcher = await startWatch(server.clients("grpc"));
      await new Promise((r) => setTimeout(r, 1_000));
      expect(watcher.ended()).toBeUndefined();
      expect(watcher.messages.length).toBeGreaterThanOrEqual(5);
      await watcher.stop();
    } finally {
      await server.close();
    }
  });
});

describe("shutdown", () => {
  it("ends open watches with UNAVAILABLE at once instead of waiting for them", async () => {
    const server = await startTestServer();
    const watchers = await Promise.all(
      (["grpc", "grpc-web", "connect-json", "connect-json-http1"] as const).map((kind) =>
        startWatch(server.clients(kind)),
      ),
    );
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1_500);
    for (const watcher of watchers) {
      const ended = await watcher.end();
      expect(ended).toBeInstanceOf(ConnectError);
      expect(ended?.code).toBe(Code.Unavailable);
    }
  });
});
