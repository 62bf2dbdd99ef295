import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createStore } from "../../src/store/index.js";
import { hasPgBouncer, type PgBouncer, startPgBouncer } from "../support/pgbouncer.js";
import { type Clients, startTestServer, type TestServer } from "../support/server.js";
import { toolsPresent } from "../support/tools.js";
import { startWatch } from "../support/watch.js";

// Behind PgBouncer in transaction mode, each statement may run on another server connection:
// prepared statements (DB_PREPARE=false turns them off) and session state do not carry over.

const present = toolsPresent(
  "the PgBouncer tests",
  hasPgBouncer() ? [] : ["pgbouncer"],
  "apt-get install -y pgbouncer",
);

describe.skipIf(!present)("behind PgBouncer in transaction mode (DB_PREPARE=false)", () => {
  let bouncer: PgBouncer;
  let server: TestServer;
  let api: Clients;
  beforeAll(async () => {
    bouncer = await startPgBouncer(inject("adminUrl"));
    server = await startTestServer({
      connectThrough: (url) => bouncer.rewrite(url),
      prepare: false,
      poolSize: 20,
    });
    api = server.clients("grpc");
  });
  afterAll(async () => {
    await server?.close();
    await bouncer?.stop();
  });

  it("serves 3,000 concurrent calls (every kind of statement and transaction) without an error", async () => {
    const ids = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const { customer } = await api.inventory.createCustomer({
          customer: { name: `pooled ${i}` },
        });
        return customer?.id ?? "";
      }),
    );
    // All at once through 4 server connections: the last are answered seconds later, so each
    // call gets the longest deadline the server allows (this test is about correctness).
    const patient = { timeoutMs: 60_000 };
    const calls = Array.from({ length: 3_000 }, (_, i) => {
      const id = ids[i % ids.length] as string;
      switch (i % 6) {
        case 0:
          return api.inventory.createCustomer(
            {
              customer: { name: `bounced ${i}` },
              requestId: `bounced-${i}`,
            },
            patient,
          );
        case 1:
          return api.inventory.getCustomer({ id }, patient);
        case 2:
          return api.inventory.listCustomers({ search: "bounced", pageSize: 5 }, patient);
        case 3:
          return api.inventory.listCustomers({ filter: "service_instance_count >= 0" }, patient);
        case 4:
          return api.instances.createServiceInstance(
            {
              serviceInstance: { customerId: id, name: `vpn ${i}`, serviceType: "L3VPN" },
            },
            patient,
          );
        default:
          return api.inventory.updateCustomer(
            {
              customer: { id, description: `round ${i}` },
              updateMask: { paths: ["description"] },
            },
            patient,
          );
      }
    });
    const failures = (await Promise.allSettled(calls)).filter((r) => r.status === "rejected");
    expect(failures.map((f) => String((f as PromiseRejectedResult).reason))).toEqual([]);
    const { customers } = await api.inventory.listCustomers({ search: "pooled", pageSize: 100 });
    expect(customers.reduce((sum, c) => sum + c.serviceInstanceCount, 0)).toBe(500);
  }, 90_000);

  it("follows the change feed without LISTEN (a transaction-mode pooler cannot hold one): by polling", async () => {
    const watcher = await startWatch(api);
    // Another replica's write, on a direct connection: only the poll can bring it here.
    const elsewhere = createStore({ db: server.database.db });
    const customer = await elsewhere.customers.create(
      { name: "written past the pooler", referenceNumber: "", description: "" },
      { author: { actor: "", requestId: "past-the-pooler" } },
    );
    await elsewhere.changes.notify("another replica");
    const started = Date.now();
    await watcher.until((changes) => changes.some((c) => c.customerId === customer.id), 3_000);
    expect(Date.now() - started).toBeLessThan(1_500);
    await watcher.stop();
  });
});
