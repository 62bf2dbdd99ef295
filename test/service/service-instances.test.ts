import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Customer } from "../../gen/customerinventory/v1/resources_pb.js";
import { callError } from "../support/errors.js";
import { type Clients, startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
let api: Clients;
beforeAll(async () => {
  server = await startTestServer();
  api = server.clients("grpc");
});
afterAll(() => server.close());

let acme: Customer;
let globex: Customer;
beforeEach(async () => {
  await server.database.db.execute(
    "truncate customers, service_instances, idempotency_records cascade",
  );
  acme = (await api.inventory.createCustomer({ customer: { name: "Café Acme" } }))
    .customer as Customer;
  globex = (await api.inventory.createCustomer({ customer: { name: "Globex" } }))
    .customer as Customer;
});

const instance = (fields: { customerId?: string; customerName?: string; name?: string }) =>
  api.instances.createServiceInstance({
    serviceInstance: { name: "vpn-1", serviceType: "L3VPN", ...fields },
  });

describe("CreateServiceInstance", () => {
  it("names its customer by id and returns the customer's current name", async () => {
    const { serviceInstance } = await instance({ customerId: acme.id.toLowerCase() });
    expect(serviceInstance).toMatchObject({
      customerId: acme.id,
      customerName: "Café Acme",
      name: "vpn-1",
      serviceType: "L3VPN",
    });
    expect(serviceInstance?.id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    expect(serviceInstance?.updateTime).toEqual(serviceInstance?.createTime);
  });

  it("names its customer by name, case-insensitively and NFC-normalized", async () => {
    const { serviceInstance } = await instance({ customerName: " CAFE\u0301 acme " });
    expect(serviceInstance?.customerId).toBe(acme.id);
  });

  it("accepts id and name together when they name the same customer", async () => {
    const { serviceInstance } = await instance({ customerId: acme.id, customerName: "café acme" });
    expect(serviceInstance?.customerId).toBe(acme.id);
  });

  it("requires a customer: INVALID_ARGUMENT on customer_id when neither is given", async () => {
    const err = await callError(() => instance({}));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.fieldViolations.map((v) => v.field)).toEqual(["service_instance.customer_id"]);
  });

  it("answers NOT_FOUND for an unknown customer id or name", async () => {
    const byId = await callError(() => instance({ customerId: "01ARZ3NDEKTSV4RRFFQ69G5FAV" }));
    expect(byId.code).toBe(Code.NotFound);
    expect(byId.reason).toBe("CUSTOMER_NOT_FOUND");
    const byName = await callError(() => instance({ customerName: "Nobody" }));
    expect(byName.code).toBe(Code.NotFound);
  });

  it("rejects an id and a name that name different customers, or a name that names nobody", async () => {
    const different = await callError(() =>
      instance({ customerId: acme.id, customerName: "Globex" }),
    );
    expect(different.code).toBe(Code.InvalidArgument);
    expect(different.fieldViolations.map((v) => v.field)).toEqual([
      "service_instance.customer_name",
    ]);
    const nobody = await callError(() => instance({ customerId: acme.id, customerName: "Nobody" }));
    expect(nobody.code).toBe(Code.InvalidArgument);
    expect(nobody.fieldViolations.map((v) => v.field)).toEqual(["service_instance.customer_name"]);
  });

  it("keeps instance names unique per customer, case-insensitively", async () => {
    await instance({ customerId: acme.id, name: "VPN-A" });
    const err = await callError(() => instance({ customerId: acme.id, name: "vpn-a" }));
    expect(err.code).toBe(Code.AlreadyExists);
    expect(err.reason).toBe("SERVICE_INSTANCE_NAME_TAKEN");
    await instance({ customerId: globex.id, name: "vpn-a" });
  });

  it("validates name and service_type", async () => {
    const err = await callError(() =>
      api.instances.createServiceInstance({
        serviceInstance: { customerId: acme.id, name: "", serviceType: "x".repeat(65) },
      }),
    );
    expect(err.fieldViolations.map((v) => v.field)).toEqual([
      "service_instance.name",
      "service_instance.service_type",
    ]);
  });
});

describe("GetServiceInstance and DeleteServiceInstance", () => {
  it("reads an instance, deletes it, and keeps the customer's count right", async () => {
    const { serviceInstance } = await instance({ customerId: acme.id });
    const id = serviceInstance?.id ?? "";
    expect((await api.instances.getServiceInstance({ id })).serviceInstance).toEqual(
      serviceInstance,
    );
    expect((await api.inventory.getCustomer({ id: acme.id })).customer?.serviceInstanceCount).toBe(
      1,
    );
    await api.instances.deleteServiceInstance({ id });
    expect((await api.inventory.getCustomer({ id: acme.id })).customer?.serviceInstanceCount).toBe(
      0,
    );
    expect((await callError(() => api.instances.getServiceInstance({ id }))).reason).toBe(
      "SERVICE_INSTANCE_NOT_FOUND",
    );
    expect((await callError(() => api.instances.deleteServiceInstance({ id }))).code).toBe(
      Code.NotFound,
    );
    expect((await api.inventory.getCustomer({ id: acme.id })).customer?.serviceInstanceCount).toBe(
      0,
    );
  });

  it("rejects malformed ids", async () => {
    const err = await callError(() => api.instances.deleteServiceInstance({ id: "../x" }));
    expect(err.code).toBe(Code.InvalidArgument);
  });
});

describe("ListServiceInstances", () => {
  it("pages through a customer's instances oldest first, each exactly once", async () => {
    const created: string[] = [];
    for (let i = 0; i < 7; i++) {
      created.push(
        (await instance({ customerId: acme.id, name: `i-${i}` })).serviceInstance?.id ?? "",
      );
    }
    await instance({ customerId: globex.id, name: "other" });
    const seen: string[] = [];
    let pageToken = "";
    const sizes = [3, 2, 5];
    for (let page = 0; ; page++) {
      const res = await api.inventory.listServiceInstances({
        customerId: acme.id,
        pageSize: sizes[page] ?? 3,
        pageToken,
      });
      expect(res.totalSize).toBe(7);
      seen.push(...res.serviceInstances.map((i) => i.id));
      pageToken = res.nextPageToken;
      if (!pageToken) break;
    }
    expect(seen).toEqual(created);
  });

  it("answers NOT_FOUND for an unknown customer and binds tokens to their customer", async () => {
    expect(
      (
        await callError(() =>
          api.inventory.listServiceInstances({ customerId: "01ARZ3NDEKTSV4RRFFQ69G5FAV" }),
        )
      ).code,
    ).toBe(Code.NotFound);
    await instance({ customerId: acme.id, name: "a" });
    await instance({ customerId: acme.id, name: "b" });
    const first = await api.inventory.listServiceInstances({ customerId: acme.id, pageSize: 1 });
    expect(first.nextPageToken).not.toBe("");
    const err = await callError(() =>
      api.inventory.listServiceInstances({ customerId: globex.id, pageToken: first.nextPageToken }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.fieldViolations.map((v) => v.field)).toEqual(["page_token"]);
  });

  it("rejects a negative page_size", async () => {
    const err = await callError(() =>
      api.inventory.listServiceInstances({ customerId: acme.id, pageSize: -1 }),
    );
    expect(err.fieldViolations.map((v) => v.field)).toEqual(["page_size"]);
  });
});
