import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { callError } from "../support/errors.js";
import { type Clients, startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
let api: Clients;
beforeAll(async () => {
  server = await startTestServer();
  api = server.clients("grpc");
});
afterAll(() => server.close());
beforeEach(async () => {
  await server.database.db.execute(
    "truncate customers, service_instances, idempotency_records cascade",
  );
});

const requestId = "5f0c6f4e-8d0c-4a53-9a3e-2f1c3b6c7d10";

describe("request_id idempotency", () => {
  it("returns the first response, as it was then, and creates nothing more", async () => {
    const first = await api.inventory.createCustomer({ customer: { name: "Once" }, requestId });
    await api.inventory.updateCustomer({
      customer: { id: first.customer?.id ?? "", description: "later" },
    });
    const again = await api.inventory.createCustomer({ customer: { name: " Once " }, requestId });
    expect(again.customer).toEqual(first.customer);
    expect((await api.inventory.listCustomers({})).totalSize).toBe(1);
  });

  it("refuses the same request_id with a different request", async () => {
    await api.inventory.createCustomer({ customer: { name: "Once" }, requestId });
    const err = await callError(() =>
      api.inventory.createCustomer({ customer: { name: "Twice" }, requestId }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.reason).toBe("REQUEST_ID_REUSED");
    expect(err.fieldViolations.map((v) => v.field)).toEqual(["request_id"]);
  });

  it("scopes a request_id to its method", async () => {
    const { customer } = await api.inventory.createCustomer({
      customer: { name: "Owner" },
      requestId,
    });
    const { serviceInstance } = await api.instances.createServiceInstance({
      serviceInstance: { customerId: customer?.id ?? "", name: "vpn", serviceType: "L3VPN" },
      requestId,
    });
    const again = await api.instances.createServiceInstance({
      serviceInstance: { customerId: customer?.id ?? "", name: "vpn", serviceType: "L3VPN" },
      requestId,
    });
    expect(again.serviceInstance).toEqual(serviceInstance);
    expect(
      (await api.inventory.getCustomer({ id: customer?.id ?? "" })).customer?.serviceInstanceCount,
    ).toBe(1);
  });

  it("does not record failed calls, so they can be retried with the same request_id", async () => {
    const holder = await api.inventory.createCustomer({ customer: { name: "Taken" } });
    const err = await callError(() =>
      api.inventory.createCustomer({ customer: { name: "Taken" }, requestId }),
    );
    expect(err.code).toBe(Code.AlreadyExists);
    await api.inventory.deleteCustomer({ id: holder.customer?.id ?? "" });
    const retried = await api.inventory.createCustomer({ customer: { name: "Taken" }, requestId });
    expect(retried.customer?.name).toBe("Taken");
  });

  it("never records validate_only calls", async () => {
    await api.inventory.createCustomer({
      customer: { name: "Dry" },
      requestId,
      validateOnly: true,
    });
    const real = await api.inventory.createCustomer({ customer: { name: "Dry" }, requestId });
    expect((await api.inventory.getCustomer({ id: real.customer?.id ?? "" })).customer?.name).toBe(
      "Dry",
    );
  });

  it("creates one resource when duplicates arrive at the same moment", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        api.inventory.createCustomer({ customer: { name: "Racy" }, requestId }),
      ),
    );
    const ids = new Set(
      results.flatMap((r) => (r.status === "fulfilled" ? [r.value.customer?.id] : [])),
    );
    expect(ids.size).toBe(1);
    for (const r of results) {
      if (r.status === "rejected")
        expect((await callError(() => Promise.reject(r.reason))).code).toBe(Code.Aborted);
    }
    expect((await api.inventory.listCustomers({})).totalSize).toBe(1);
  });

  it.each([
    ["too long", "x".repeat(65)],
    ["non-ASCII", "ünïcode"],
    ["a control character", "abc\u0001"],
  ])("rejects a request_id that is %s", async (_, bad) => {
    const err = await callError(() =>
      api.inventory.createCustomer({ customer: { name: "x" }, requestId: bad }),
    );
    expect(err.fieldViolations.map((v) => v.field)).toEqual(["request_id"]);
  });
});
