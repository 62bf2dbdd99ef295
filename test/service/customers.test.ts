import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { callError } from "../support/errors.js";
import {
  type Clients,
  startTestServer,
  type TestServer,
  transportKinds,
} from "../support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());
beforeEach(async () => {
  await server.database.db.execute(
    "truncate customers, service_instances, idempotency_records cascade",
  );
});

describe.each(transportKinds)("customers over %s", (kind) => {
  let api: Clients;
  beforeAll(() => {
    api = server.clients(kind);
  });

  it("creates a customer with a server-assigned ULID, trimmed fields and timestamps", async () => {
    const { customer } = await api.inventory.createCustomer({
      customer: { name: "  Acme Networks ", referenceNumber: " CRM-1 ", description: " Tier 1\n" },
    });
    expect(customer?.id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    expect(customer).toMatchObject({
      name: "Acme Networks",
      referenceNumber: "CRM-1",
      description: "Tier 1",
      serviceInstanceCount: 0,
    });
    expect(customer?.etag).not.toBe("");
    expect(customer?.createTime).toEqual(customer?.updateTime);
    const { customer: read } = await api.inventory.getCustomer({ id: customer?.id ?? "" });
    expect(read).toEqual(customer);
  });

  it("refuses a name taken case-insensitively with ALREADY_EXISTS and ErrorInfo", async () => {
    const { customer } = await api.inventory.createCustomer({ customer: { name: "CAFÉ" } });
    for (const name of ["café", "cafe\u0301", " Café "]) {
      const err = await callError(() => api.inventory.createCustomer({ customer: { name } }));
      expect(err.code).toBe(Code.AlreadyExists);
      expect(err.reason).toBe("CUSTOMER_NAME_TAKEN");
      expect(err.errorInfos).toHaveLength(1);
      expect(err.errorInfos[0]?.domain).toBe("customerinventory.v1");
      expect(err.metadata.customer_id).toBe(customer?.id);
    }
  });

  it("reports every bad field in one BadRequest", async () => {
    const err = await callError(() =>
      api.inventory.createCustomer({
        customer: { name: "   ", referenceNumber: "x".repeat(65), description: "bell\u0007" },
      }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.reason).toBe("INVALID_ARGUMENT");
    expect(err.fieldViolations.map((v) => v.field)).toEqual([
      "customer.name",
      "customer.reference_number",
      "customer.description",
    ]);
  });

  it("refuses a delete while instances exist, naming them, and deletes once they are gone", async () => {
    const { customer } = await api.inventory.createCustomer({ customer: { name: "Blocked" } });
    const id = customer?.id ?? "";
    const { serviceInstance } = await api.instances.createServiceInstance({
      serviceInstance: { customerId: id, name: "vpn-1", serviceType: "L3VPN" },
    });
    const err = await callError(() => api.inventory.deleteCustomer({ id }));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.reason).toBe("CUSTOMER_HAS_SERVICE_INSTANCES");
    expect(err.metadata).toEqual({ customer_id: id, service_instance_count: "1" });
    expect(err.preconditionViolations).toEqual([
      expect.objectContaining({ type: "SERVICE_INSTANCE", subject: serviceInstance?.id }),
    ]);
    await api.instances.deleteServiceInstance({ id: serviceInstance?.id ?? "" });
    await api.inventory.deleteCustomer({ id });
    expect((await callError(() => api.inventory.getCustomer({ id }))).code).toBe(Code.NotFound);
  });

  it("answers NOT_FOUND for an unknown id and INVALID_ARGUMENT for a malformed one", async () => {
    const missing = await callError(() =>
      api.inventory.getCustomer({ id: "01ARZ3NDEKTSV4RRFFQ69G5FAV" }),
    );
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.reason).toBe("CUSTOMER_NOT_FOUND");
    const malformed = await callError(() => api.inventory.getCustomer({ id: "customers/1" }));
    expect(malformed.code).toBe(Code.InvalidArgument);
    expect(malformed.fieldViolations).toEqual([{ field: "id", description: expect.any(String) }]);
  });
});
