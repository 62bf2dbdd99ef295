import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { callError } from "../support/errors.js";
import { type Clients, startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
let api: Clients;
beforeAll(async () => {
  server = await startTestServer({ poolSize: 20 });
  api = server.clients("grpc");
});
afterAll(() => server.close());
beforeEach(async () => {
  await server.database.db.execute(
    "truncate customers, service_instances, idempotency_records cascade",
  );
});

const codeOf = (result: PromiseSettledResult<unknown>) =>
  result.status === "fulfilled" ? "OK" : Code[ConnectError.from(result.reason).code];

/** Customers whose stored counter differs from their real number of instances. */
async function driftingCounters() {
  return server.database.db.execute(`
    select c.id from customers c
    left join service_instances i on i.customer_id = c.id
    group by c.id having c.service_instance_count <> count(i.id)`);
}

describe("concurrency invariants", () => {
  it("DeleteCustomer racing CreateServiceInstance never orphans an instance or deletes a customer that has one", async () => {
    const outcomes = new Map<string, number>();
    for (let round = 0; round < 200; round++) {
      const { customer } = await api.inventory.createCustomer({
        customer: { name: `race-${round}` },
      });
      const id = customer?.id ?? "";
      const [deleted, created] = await Promise.allSettled([
        api.inventory.deleteCustomer({ id }),
        api.instances.createServiceInstance({
          serviceInstance: { customerId: id, name: "vpn", serviceType: "L3VPN" },
        }),
      ]);
      const outcome = `${codeOf(deleted)}/${codeOf(created)}`;
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      // Exactly one of them wins: the delete (and the create finds no customer), or the
      // create (and the delete is refused because of it).
      expect(["OK/NotFound", "FailedPrecondition/OK"]).toContain(outcome);
    }
    const orphans = await server.database.db.execute(`
      select i.id from service_instances i left join customers c on c.id = i.customer_id
      where c.id is null`);
    expect(orphans).toHaveLength(0);
    expect(await driftingCounters()).toHaveLength(0);
    expect([...outcomes.values()].reduce((a, b) => a + b)).toBe(200);
  });

  it("lets exactly one of many parallel creates with one name win", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        api.inventory.createCustomer({ customer: { name: i % 2 ? "Same Name" : "same name" } }),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(new Set(results.filter((r) => r.status === "rejected").map(codeOf))).toEqual(
      new Set(["AlreadyExists"]),
    );
  });

  it("lets exactly one of two updates carrying the same etag win", async () => {
    for (let round = 0; round < 50; round++) {
      const { customer } = await api.inventory.createCustomer({
        customer: { name: `etag-${round}` },
      });
      const update = (description: string) =>
        api.inventory.updateCustomer({
          customer: { id: customer?.id ?? "", description, etag: customer?.etag ?? "" },
        });
      const results = await Promise.allSettled([update("one"), update("two")]);
      expect(results.map(codeOf).sort()).toEqual(["Aborted", "OK"]);
    }
  });

  it("keeps instance counts exact under concurrent creates and deletes", async () => {
    const customers = await Promise.all(
      ["a", "b", "c"].map(
        async (name) => (await api.inventory.createCustomer({ customer: { name } })).customer,
      ),
    );
    const created = await Promise.all(
      Array.from({ length: 90 }, (_, i) =>
        api.instances.createServiceInstance({
          serviceInstance: {
            customerId: customers[i % 3]?.id ?? "",
            name: `i-${i}`,
            serviceType: "L3VPN",
          },
        }),
      ),
    );
    const deleteInstance = (r: (typeof created)[number]) =>
      api.instances.deleteServiceInstance({ id: r.serviceInstance?.id ?? "" });
    const [deletes, duplicateDeletes] = await Promise.all([
      Promise.allSettled(created.slice(0, 45).map(deleteInstance)),
      // Deleting the same instance twice at once: one succeeds, the other finds nothing.
      Promise.allSettled(created.slice(0, 10).map(deleteInstance)),
      ...Array.from({ length: 30 }, (_, i) =>
        api.instances.createServiceInstance({
          serviceInstance: {
            customerId: customers[i % 3]?.id ?? "",
            name: `j-${i}`,
            serviceType: "EVPN",
          },
        }),
      ),
    ]);
    for (let i = 0; i < 45; i++) {
      const settled = i < 10 ? [deletes[i], duplicateDeletes[i]] : [deletes[i]];
      const outcomes = settled.map((r) => codeOf(r as PromiseSettledResult<unknown>)).sort();
      expect(outcomes).toEqual(i < 10 ? ["NotFound", "OK"] : ["OK"]);
    }
    expect(await driftingCounters()).toHaveLength(0);
    const { customers: listed } = await api.inventory.listCustomers({});
    expect(listed.reduce((n, c) => n + c.serviceInstanceCount, 0)).toBe(90 - 45 + 30);
  });

  it("keeps the unfiltered total_size exact under concurrent customer creates and deletes", async () => {
    const first = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        api.inventory.createCustomer({ customer: { name: `t-${i}` } }),
      ),
    );
    const results = await Promise.allSettled([
      ...first.slice(0, 40).map((r) => api.inventory.deleteCustomer({ id: r.customer?.id ?? "" })),
      // Half of these name a customer that exists: ALREADY_EXISTS must not count.
      ...Array.from({ length: 80 }, (_, i) =>
        api.inventory.createCustomer({ customer: { name: `t-${i + 30}` } }),
      ),
    ]);
    const created = results.slice(40).filter((r) => r.status === "fulfilled").length;
    const [actual] = await server.database.db.execute<{ n: number }>(
      "select count(*)::int as n from customers",
    );
    const { totalSize } = await api.inventory.listCustomers({ pageSize: 1 });
    const filtered = await api.inventory.listCustomers({ pageSize: 1, filter: 'id = "*"' });
    expect(actual?.n).toBe(60 - 40 + created);
    expect(totalSize).toBe(actual?.n);
    expect(filtered.totalSize).toBe(actual?.n);
    await server.database.db.execute("truncate customers cascade");
    expect((await api.inventory.listCustomers({})).totalSize).toBe(0);
  });

  it("refuses a second delete of a customer deleted concurrently with NOT_FOUND", async () => {
    const { customer } = await api.inventory.createCustomer({ customer: { name: "twice" } });
    const results = await Promise.allSettled([
      api.inventory.deleteCustomer({ id: customer?.id ?? "" }),
      api.inventory.deleteCustomer({ id: customer?.id ?? "" }),
    ]);
    expect(results.map(codeOf).sort()).toEqual(["NotFound", "OK"]);
    expect(
      (await callError(() => api.inventory.getCustomer({ id: customer?.id ?? "" }))).code,
    ).toBe(Code.NotFound);
  });
});
