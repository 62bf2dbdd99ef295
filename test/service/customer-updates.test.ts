import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Customer } from "../../gen/customerinventory/v1/resources_pb.js";
import { callError } from "../support/errors.js";
import { type Clients, startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
let api: Clients;
beforeAll(async () => {
  server = await startTestServer();
  api = server.clients("connect-binary");
});
afterAll(() => server.close());
beforeEach(async () => {
  await server.database.db.execute(
    "truncate customers, service_instances, idempotency_records cascade",
  );
});

const mask = (...paths: string[]) => create(FieldMaskSchema, { paths });

async function newCustomer(
  fields: Omit<Partial<Customer>, "$typeName" | "createTime" | "updateTime"> = {},
): Promise<Customer> {
  const { customer } = await api.inventory.createCustomer({
    customer: { name: "Globex", referenceNumber: "REF-1", description: "first", ...fields },
  });
  if (!customer) throw new Error("no customer returned");
  return customer;
}

describe("CreateCustomer validation", () => {
  it("counts lengths in code points: 100 emoji are a valid name, 101 are not", async () => {
    await newCustomer({ name: "😀".repeat(100), referenceNumber: "" });
    const err = await callError(() =>
      api.inventory.createCustomer({ customer: { name: "😀".repeat(101) } }),
    );
    expect(err.fieldViolations).toEqual([
      { field: "customer.name", description: "must be at most 100 characters (got 101)" },
    ]);
  });

  it.each([
    ["a NUL", "a\u0000b"],
    ["a control character", "a\u001bb"],
    ["DEL", "a\u007fb"],
    ["a C1 control", "a\u0085b"],
    ["a bidi override", "a\u202eb"],
    ["a bidi isolate", "a\u2066b"],
    ["a newline", "a\nb"],
  ])("rejects %s in a name", async (_, name) => {
    const err = await callError(() => api.inventory.createCustomer({ customer: { name } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.fieldViolations.map((v) => v.field)).toEqual(["customer.name"]);
  });

  it("allows newlines and tabs inside a description but no other control characters", async () => {
    const customer = await newCustomer({ description: "line 1\n\tline 2" });
    expect(customer.description).toBe("line 1\n\tline 2");
    const err = await callError(() =>
      api.inventory.createCustomer({ customer: { name: "Other", description: "x\u0000" } }),
    );
    expect(err.fieldViolations.map((v) => v.field)).toEqual(["customer.description"]);
  });

  it("bounds reference numbers at 64 and descriptions at 2000 characters", async () => {
    await newCustomer({ referenceNumber: "r".repeat(64), description: "d".repeat(2000) });
    const err = await callError(() =>
      api.inventory.createCustomer({
        customer: { name: "Long", referenceNumber: "r".repeat(65), description: "d".repeat(2001) },
      }),
    );
    expect(err.fieldViolations.map((v) => v.field)).toEqual([
      "customer.reference_number",
      "customer.description",
    ]);
  });

  it("refuses a reference number taken case-insensitively but allows many customers without one", async () => {
    const holder = await newCustomer({ referenceNumber: "crm-42" });
    const err = await callError(() =>
      api.inventory.createCustomer({ customer: { name: "Initech", referenceNumber: " CRM-42" } }),
    );
    expect(err.code).toBe(Code.AlreadyExists);
    expect(err.reason).toBe("REFERENCE_NUMBER_TAKEN");
    expect(err.metadata).toMatchObject({ reference_number: "CRM-42", customer_id: holder.id });
    await newCustomer({ name: "No ref 1", referenceNumber: "" });
    await newCustomer({ name: "No ref 2", referenceNumber: "" });
  });

  it("ignores output-only fields sent by the client", async () => {
    const customer = await newCustomer({
      id: "01ARZ3NDEKTSV4RRFFQ69G5FAV",
      serviceInstanceCount: 7,
      etag: "mine",
    });
    expect(customer.id).not.toBe("01ARZ3NDEKTSV4RRFFQ69G5FAV");
    expect(customer.serviceInstanceCount).toBe(0);
    expect(customer.etag).not.toBe("mine");
  });

  it("accepts ids in any letter case and returns them upper case", async () => {
    const customer = await newCustomer();
    const { customer: read } = await api.inventory.getCustomer({ id: customer.id.toLowerCase() });
    expect(read?.id).toBe(customer.id);
  });

  it("rejects ids that are not ULIDs, including a first character above 7", async () => {
    for (const id of [
      "",
      "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
      "01ARZ3NDEKTSV4RRFFQ69G5FA",
      "01ARZ3NDEKTSV4RRFFQ69G5FAI",
    ]) {
      const err = await callError(() => api.inventory.getCustomer({ id }));
      expect(err.code, id).toBe(Code.InvalidArgument);
    }
  });

  it("with validate_only checks everything, including uniqueness, and stores nothing", async () => {
    const { customer } = await api.inventory.createCustomer({
      customer: { name: "Dry run" },
      validateOnly: true,
    });
    expect(customer?.name).toBe("Dry run");
    expect((await api.inventory.listCustomers({})).totalSize).toBe(0);
    await newCustomer({ name: "Taken" });
    const err = await callError(() =>
      api.inventory.createCustomer({ customer: { name: "taken" }, validateOnly: true }),
    );
    expect(err.code).toBe(Code.AlreadyExists);
  });
});

describe("UpdateCustomer", () => {
  it("without a mask updates only the fields the request populates", async () => {
    const customer = await newCustomer();
    const { customer: updated } = await api.inventory.updateCustomer({
      customer: { id: customer.id, name: "Globex Corporation" },
    });
    expect(updated).toMatchObject({
      name: "Globex Corporation",
      referenceNumber: "REF-1",
      description: "first",
    });
    expect(updated?.etag).not.toBe(customer.etag);
  });

  it("clears an optional field named in the mask and sent empty", async () => {
    const customer = await newCustomer();
    const { customer: updated } = await api.inventory.updateCustomer({
      customer: { id: customer.id },
      updateMask: mask("reference_number", "description"),
    });
    expect(updated).toMatchObject({ name: "Globex", referenceNumber: "", description: "" });
  });

  it("with * replaces every mutable field, and a required one cannot be emptied", async () => {
    const customer = await newCustomer();
    const { customer: updated } = await api.inventory.updateCustomer({
      customer: { id: customer.id, name: "Replaced" },
      updateMask: mask("*"),
    });
    expect(updated).toMatchObject({ name: "Replaced", referenceNumber: "", description: "" });
    const err = await callError(() =>
      api.inventory.updateCustomer({
        customer: { id: customer.id, description: "x" },
        updateMask: mask("*"),
      }),
    );
    expect(err.fieldViolations).toEqual([{ field: "customer.name", description: "is required" }]);
  });

  it("rejects unknown mask paths and ignores output-only ones", async () => {
    const customer = await newCustomer();
    const err = await callError(() =>
      api.inventory.updateCustomer({
        customer: { id: customer.id, name: "X" },
        updateMask: mask("name", "nmae"),
      }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.fieldViolations.map((v) => v.field)).toEqual(["update_mask"]);
    const { customer: same } = await api.inventory.updateCustomer({
      customer: { id: customer.id, serviceInstanceCount: 9 },
      updateMask: mask("service_instance_count", "create_time", "id", "etag"),
    });
    expect(same).toEqual(customer);
  });

  it("leaves etag and update_time alone when nothing changes", async () => {
    const customer = await newCustomer();
    const { customer: same } = await api.inventory.updateCustomer({
      customer: { id: customer.id, name: " Globex ", description: "first" },
    });
    expect(same?.etag).toBe(customer.etag);
    expect(same?.updateTime).toEqual(customer.updateTime);
  });

  it("fails with ABORTED on a stale etag and succeeds with the current one", async () => {
    const customer = await newCustomer();
    const { customer: first } = await api.inventory.updateCustomer({
      customer: { id: customer.id, description: "second", etag: customer.etag },
    });
    const err = await callError(() =>
      api.inventory.updateCustomer({
        customer: { id: customer.id, description: "third", etag: customer.etag },
      }),
    );
    expect(err.code).toBe(Code.Aborted);
    expect(err.reason).toBe("ETAG_MISMATCH");
    const { customer: second } = await api.inventory.updateCustomer({
      customer: { id: customer.id, description: "third", etag: first?.etag ?? "" },
    });
    expect(second?.description).toBe("third");
  });

  it("refuses a rename to a taken name and reports NOT_FOUND before etag checks", async () => {
    await newCustomer({ name: "Taken", referenceNumber: "" });
    const customer = await newCustomer();
    const err = await callError(() =>
      api.inventory.updateCustomer({ customer: { id: customer.id, name: "TAKEN" } }),
    );
    expect(err.code).toBe(Code.AlreadyExists);
    expect(err.reason).toBe("CUSTOMER_NAME_TAKEN");
    const missing = await callError(() =>
      api.inventory.updateCustomer({
        customer: { id: "01ARZ3NDEKTSV4RRFFQ69G5FAV", name: "x", etag: "stale" },
      }),
    );
    expect(missing.code).toBe(Code.NotFound);
  });

  it("with validate_only returns the would-be result and changes nothing", async () => {
    const customer = await newCustomer();
    const { customer: preview } = await api.inventory.updateCustomer({
      customer: { id: customer.id, name: "Preview" },
      validateOnly: true,
    });
    expect(preview?.name).toBe("Preview");
    const { customer: read } = await api.inventory.getCustomer({ id: customer.id });
    expect(read).toEqual(customer);
  });

  it("does not change etag or update_time when only the instance count changes", async () => {
    const customer = await newCustomer();
    await api.instances.createServiceInstance({
      serviceInstance: { customerId: customer.id, name: "e-lan", serviceType: "EVPN-ELAN" },
    });
    const { customer: read } = await api.inventory.getCustomer({ id: customer.id });
    expect(read?.serviceInstanceCount).toBe(1);
    expect(read?.etag).toBe(customer.etag);
    expect(read?.updateTime).toEqual(customer.updateTime);
  });

  it("renames the customer on all its instances at once", async () => {
    const customer = await newCustomer();
    const { serviceInstance } = await api.instances.createServiceInstance({
      serviceInstance: { customerId: customer.id, name: "vpn", serviceType: "L3VPN" },
    });
    await api.inventory.updateCustomer({ customer: { id: customer.id, name: "Renamed" } });
    const { serviceInstance: read } = await api.instances.getServiceInstance({
      id: serviceInstance?.id ?? "",
    });
    expect(read?.customerName).toBe("Renamed");
  });
});

describe("DeleteCustomer", () => {
  it("lists at most 20 blocking instances, oldest first, and counts them all", async () => {
    const customer = await newCustomer();
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      const { serviceInstance } = await api.instances.createServiceInstance({
        serviceInstance: { customerId: customer.id, name: `vpn-${i}`, serviceType: "L3VPN" },
      });
      ids.push(serviceInstance?.id ?? "");
    }
    const err = await callError(() => api.inventory.deleteCustomer({ id: customer.id }));
    expect(err.metadata.service_instance_count).toBe("25");
    expect(err.preconditionViolations.map((v) => v.subject)).toEqual(ids.slice(0, 20));
  });

  it("with validate_only runs the precondition and deletes nothing", async () => {
    const customer = await newCustomer();
    await api.inventory.deleteCustomer({ id: customer.id, validateOnly: true });
    await api.inventory.getCustomer({ id: customer.id });
    await api.instances.createServiceInstance({
      serviceInstance: { customerId: customer.id, name: "vpn", serviceType: "L3VPN" },
    });
    const err = await callError(() =>
      api.inventory.deleteCustomer({ id: customer.id, validateOnly: true }),
    );
    expect(err.code).toBe(Code.FailedPrecondition);
  });

  it("fails with ABORTED on a stale etag and NOT_FOUND for an unknown customer", async () => {
    const customer = await newCustomer();
    await api.inventory.updateCustomer({ customer: { id: customer.id, name: "Changed" } });
    const stale = await callError(() =>
      api.inventory.deleteCustomer({ id: customer.id, etag: customer.etag }),
    );
    expect(stale.code).toBe(Code.Aborted);
    await api.inventory.deleteCustomer({ id: customer.id });
    const gone = await callError(() => api.inventory.deleteCustomer({ id: customer.id }));
    expect(gone.code).toBe(Code.NotFound);
  });
});
