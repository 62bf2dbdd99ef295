import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CustomerInventoryService,
  ImportMode,
  ImportOutcome,
} from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { ChangeKind } from "../../gen/customerinventory/v1/resources_pb.js";
import { callError } from "../support/errors.js";
import { type Clients, startTestServer, type TestServer } from "../support/server.js";

// BatchGetCustomers, ImportCustomers and ExportCustomers through real clients, over gRPC,
// gRPC-Web and Connect.

const kinds = ["grpc", "grpc-web", "connect-json"] as const;
let server: TestServer;
let clients: Clients;
beforeAll(async () => {
  server = await startTestServer();
  clients = server.clients("connect-json");
});
afterAll(() => server.close());

let counter = 0;
const unique = (prefix: string) => `${prefix} ${++counter} ${Date.now()}`;

async function countCustomers(search = "") {
  return (await clients.inventory.listCustomers({ search, pageSize: 1 })).totalSize;
}

describe("BatchGetCustomers", () => {
  for (const kind of kinds) {
    it(`over ${kind}: answers in request order, repeats included; all or nothing`, async () => {
      const c = server.clients(kind);
      const a = (await c.inventory.createCustomer({ customer: { name: unique("Batch A") } }))
        .customer;
      const b = (await c.inventory.createCustomer({ customer: { name: unique("Batch B") } }))
        .customer;
      const ids = [b?.id, a?.id, b?.id.toLowerCase()] as string[];
      const { customers } = await c.inventory.batchGetCustomers({ ids });
      expect(customers.map((x) => x.id)).toEqual([b?.id, a?.id, b?.id]);
      expect(customers[1]).toEqual(a);

      const unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
      const missing = await callError(() =>
        c.inventory.batchGetCustomers({ ids: [a?.id as string, unknown] }),
      );
      expect(missing.code).toBe(Code.NotFound);
      expect(missing.metadata.customer_id).toBe(unknown);
      const bad = await callError(() =>
        c.inventory.batchGetCustomers({ ids: [a?.id as string, "nope"] }),
      );
      expect(bad.code).toBe(Code.InvalidArgument);
      expect(bad.fieldViolations.map((v) => v.field)).toEqual(["ids[1]"]);
    });
  }

  it("takes 1 to 1000 ids", async () => {
    for (const count of [0, 1001]) {
      const ids = Array.from({ length: count }, () => "01ARZ3NDEKTSV4RRFFQ69G5FAV");
      const err = await callError(() => clients.inventory.batchGetCustomers({ ids }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.fieldViolations[0]?.field).toBe("ids");
    }
  });
});

describe("ImportCustomers", () => {
  for (const kind of kinds) {
    it(`over ${kind}: creates every row in one call, in row order, each one change in the feed`, async () => {
      const c = server.clients(kind);
      const tag = unique("Imported");
      const rows = Array.from({ length: 5 }, (_, i) => ({
        name: `${tag} ${i}`,
        referenceNumber: `${tag}-REF-${i}`,
        description: `row ${i}, "quoted", with\nnewline`,
      }));
      const res = await c.inventory.importCustomers({ customers: rows });
      expect(res.createdCount).toBe(5);
      expect(res.results.map((r) => r.outcome)).toEqual(Array(5).fill(ImportOutcome.CREATED));
      const { customers } = await c.inventory.batchGetCustomers({
        ids: res.results.map((r) => r.customerId),
      });
      expect(customers.map((x) => [x.name, x.referenceNumber, x.description])).toEqual(
        rows.map((r) => [r.name, r.referenceNumber, r.description]),
      );
      const changes = await c.inventory.listCustomerChanges({
        customerId: res.results[2]?.customerId,
      });
      expect(changes.changes.map((x) => x.kind)).toEqual([ChangeKind.CUSTOMER_CREATED]);
    });
  }

  it("is atomic: one bad row of 1000 writes nothing, and every bad row is named", async () => {
    const before = await countCustomers();
    const tag = unique("Atomic");
    const taken = (
      await clients.inventory.createCustomer({
        customer: { name: `${tag} taken`, referenceNumber: `${tag}-TAKEN` },
      })
    ).customer;
    const rows = Array.from({ length: 1000 }, (_, i) => ({ name: `${tag} ${i}` }));
    rows[3] = { name: "" };
    rows[500] = { name: taken?.name as string };
    rows[998] = { name: `${tag} 997` }; // the same name as row 997
    // Row checks come first: the one empty name.
    const first = await callError(() => clients.inventory.importCustomers({ customers: rows }));
    expect(first.code).toBe(Code.InvalidArgument);
    expect(first.reason).toBe("IMPORT_ROWS_INVALID");
    expect(first.fieldViolations.map((v) => v.field)).toEqual(["customers[3].name"]);
    rows[3] = { name: `${tag} 3` };
    const second = await callError(() => clients.inventory.importCustomers({ customers: rows }));
    expect(second.reason).toBe("IMPORT_ROWS_INVALID");
    expect(second.fieldViolations.map((v) => v.field)).toEqual(["customers[998].name"]);
    rows[998] = { name: `${tag} 998` };
    const third = await callError(() => clients.inventory.importCustomers({ customers: rows }));
    expect(third.reason).toBe("IMPORT_ROWS_INVALID");
    expect(third.fieldViolations.map((v) => v.field)).toEqual(["customers[500].name"]);
    expect(third.fieldViolations[0]?.description).toContain(taken?.id as string);
    expect(await countCustomers()).toBe(before + 1);
    rows[500] = { name: `${tag} 500` };
    const done = await clients.inventory.importCustomers({ customers: rows });
    expect(done.createdCount).toBe(1000);
    expect(await countCustomers(tag)).toBe(1001);
  });

  for (const kind of kinds) {
    it(`over ${kind}: 1000 bad rows: the first 100 violations listed, the count in ErrorInfo`, async () => {
      const c = server.clients(kind);
      const customers = Array.from({ length: 1000 }, () => ({ name: "", description: "\u0007" }));
      const err = await callError(() => c.inventory.importCustomers({ customers }));
      expect(err.reason).toBe("IMPORT_ROWS_INVALID");
      expect(err.fieldViolations).toHaveLength(100);
      expect(err.fieldViolations[0]?.field).toBe("customers[0].name");
      expect(err.metadata.violation_count).toBe("2000");
      expect(err.message).toContain("2000 problems in all");
    });
  }

  it("takes 1 to 1000 rows and a known mode", async () => {
    for (const count of [0, 1001]) {
      const customers = Array.from({ length: count }, (_, i) => ({ name: `n${i}` }));
      const err = await callError(() => clients.inventory.importCustomers({ customers }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.fieldViolations[0]?.field).toBe("customers");
    }
    const err = await callError(() =>
      clients.inventory.importCustomers({ customers: [{ name: "x" }], mode: 7 as ImportMode }),
    );
    expect(err.fieldViolations[0]?.field).toBe("mode");
  });

  it("UPSERT: matches by reference number; updated, unchanged (no new etag, no change) and created rows", async () => {
    const tag = unique("Upsert");
    const existing = (
      await clients.inventory.importCustomers({
        customers: [
          { name: `${tag} one`, referenceNumber: `${tag}-1`, description: "first" },
          { name: `${tag} two`, referenceNumber: `${tag}-2`, description: "second" },
        ],
      })
    ).results.map((r) => r.customerId);
    const [before] = (await clients.inventory.batchGetCustomers({ ids: [existing[1] as string] }))
      .customers;
    const res = await clients.inventory.importCustomers({
      mode: ImportMode.UPSERT,
      customers: [
        {
          name: `${tag} one renamed`,
          referenceNumber: `${tag}-1`.toLowerCase(),
          description: "first",
        },
        { name: `${tag} two`, referenceNumber: `${tag}-2`, description: "second" },
        { name: `${tag} three`, referenceNumber: `${tag}-3` },
      ],
    });
    expect(res.results.map((r) => r.outcome)).toEqual([
      ImportOutcome.UPDATED,
      ImportOutcome.UNCHANGED,
      ImportOutcome.CREATED,
    ]);
    expect([res.createdCount, res.updatedCount, res.unchangedCount]).toEqual([1, 1, 1]);
    expect(res.results.slice(0, 2).map((r) => r.customerId)).toEqual(existing);
    const [one, two] = (await clients.inventory.batchGetCustomers({ ids: existing as string[] }))
      .customers;
    expect(one?.name).toBe(`${tag} one renamed`);
    expect(one?.referenceNumber).toBe(`${tag}-1`);
    expect(two?.etag).toBe(before?.etag);
    const history = async (id: string) =>
      (await clients.inventory.listCustomerChanges({ customerId: id })).changes.map((x) => x.kind);
    expect(await history(existing[0] as string)).toEqual([
      ChangeKind.CUSTOMER_UPDATED,
      ChangeKind.CUSTOMER_CREATED,
    ]);
    expect(await history(existing[1] as string)).toEqual([ChangeKind.CUSTOMER_CREATED]);

    const noReference = await callError(() =>
      clients.inventory.importCustomers({ mode: ImportMode.UPSERT, customers: [{ name: "x" }] }),
    );
    expect(noReference.fieldViolations.map((v) => v.field)).toEqual([
      "customers[0].reference_number",
    ]);
    // A row that renames its customer to another customer's name.
    const clash = await callError(() =>
      clients.inventory.importCustomers({
        mode: ImportMode.UPSERT,
        customers: [{ name: `${tag} two`, referenceNumber: `${tag}-1` }],
      }),
    );
    expect(clash.fieldViolations.map((v) => v.field)).toEqual(["customers[0].name"]);
  });

  it("validate_only answers what would happen and writes nothing; request_id replays", async () => {
    const tag = unique("Dry import");
    const rows = [{ name: `${tag} a`, referenceNumber: `${tag}-A` }];
    const before = await countCustomers();
    const dry = await clients.inventory.importCustomers({ customers: rows, validateOnly: true });
    expect(dry.results).toEqual([
      expect.objectContaining({ customerId: "", outcome: ImportOutcome.CREATED }),
    ]);
    expect(await countCustomers()).toBe(before);
    const first = await clients.inventory.importCustomers({ customers: rows, requestId: tag });
    const again = await clients.inventory.importCustomers({ customers: rows, requestId: tag });
    expect(again.results).toEqual(first.results);
    expect(await countCustomers()).toBe(before + 1);
    const reused = await callError(() =>
      clients.inventory.importCustomers({ customers: [{ name: `${tag} b` }], requestId: tag }),
    );
    expect(reused.reason).toBe("REQUEST_ID_REUSED");
  });

  it("a concurrent CreateCustomer of the same name: one of them wins, never both", async () => {
    for (let round = 0; round < 5; round++) {
      const name = unique("Race");
      const rows = Array.from({ length: 200 }, (_, i) => ({
        name: i === 150 ? name : `${name} ${i}`,
      }));
      const [imported, created] = await Promise.allSettled([
        clients.inventory.importCustomers({ customers: rows }),
        clients.inventory.createCustomer({ customer: { name } }),
      ]);
      const { customers } = await clients.inventory.listCustomers({ filter: `name = "${name}"` });
      expect(customers).toHaveLength(1);
      expect([imported.status, created.status].filter((s) => s === "fulfilled")).toHaveLength(1);
      if (imported.status === "rejected") {
        const err = await callError(() => Promise.reject(imported.reason));
        expect(err.reason).toBe("IMPORT_ROWS_INVALID");
        expect(err.fieldViolations.map((v) => v.field)).toEqual(["customers[150].name"]);
        // Atomic: none of the import's other 199 rows either.
        const rest = await clients.inventory.listCustomers({ filter: `name = "${name} *"` });
        expect(rest.totalSize).toBe(0);
      }
    }
  });
});

describe("ExportCustomers", () => {
  for (const kind of kinds) {
    it(`over ${kind}: every match in order, 1000 a message, total in the first`, async () => {
      const c = server.clients(kind);
      const tag = unique("Exported").replace(/ /g, "-");
      const rows = Array.from({ length: 1200 }, (_, i) => ({
        name: `${tag} ${String(i).padStart(4, "0")}`,
        description: i % 2 === 0 ? "even" : "odd",
      }));
      await c.inventory.importCustomers({ customers: rows.slice(0, 1000) });
      await c.inventory.importCustomers({ customers: rows.slice(1000) });
      const messages = [];
      for await (const m of c.inventory.exportCustomers({ search: tag, orderBy: "name desc" })) {
        messages.push(m);
      }
      expect(messages.map((m) => m.customers.length)).toEqual([1000, 200]);
      expect(messages[0]?.totalSize).toBe(1200);
      const names = messages.flatMap((m) => m.customers.map((x) => x.name));
      expect(names).toEqual(rows.map((r) => r.name).reverse());
      const odd = [];
      for await (const m of c.inventory.exportCustomers({
        search: tag,
        filter: 'description = "odd"',
      })) {
        odd.push(...m.customers);
      }
      expect(odd).toHaveLength(600);
    });
  }

  it("reads one snapshot while writers change rows, and a client that reads slowly holds one page", async () => {
    const tag = unique("Snapshot").replace(/ /g, "-");
    await clients.inventory.importCustomers({
      customers: Array.from({ length: 1000 }, (_, i) => ({ name: `${tag} ${i}` })),
    });
    await clients.inventory.importCustomers({
      customers: Array.from({ length: 1000 }, (_, i) => ({ name: `${tag} ${1000 + i}` })),
    });
    // A gRPC connection of its own: the reader stops reading after the first message.
    const slow = createClient(
      CustomerInventoryService,
      createGrpcTransport({ baseUrl: server.baseUrl }),
    );
    const stream = slow.exportCustomers({ search: tag })[Symbol.asyncIterator]();
    const first = await stream.next();
    expect(first.value?.totalSize).toBe(2000);
    // Meanwhile: 500 more, and renames of customers the export has not reached yet.
    await clients.inventory.importCustomers({
      customers: Array.from({ length: 500 }, (_, i) => ({ name: `${tag} late ${i}` })),
    });
    const { customers: tail } = await clients.inventory.listCustomers({
      search: tag,
      orderBy: "name desc",
      pageSize: 3,
    });
    for (const customer of tail) {
      await clients.inventory.updateCustomer({
        customer: { id: customer.id, description: "renamed during the export" },
        updateMask: { paths: ["description"] },
      });
    }
    let seen = first.value?.customers.length ?? 0;
    const descriptions: string[] = [];
    for (let next = await stream.next(); !next.done; next = await stream.next()) {
      seen += next.value.customers.length;
      descriptions.push(...next.value.customers.map((x) => x.description));
    }
    expect(seen).toBe(2000);
    expect(descriptions).not.toContain("renamed during the export");
  });

  it("refuses a bad filter, search or order_by with the field named", async () => {
    for (const [request, field] of [
      [{ filter: "name = " }, "filter"],
      [{ orderBy: "nonsense" }, "order_by"],
      [{ search: "x".repeat(201) }, "search"],
    ] as const) {
      const err = await callError(async () => {
        for await (const _ of clients.inventory.exportCustomers(request)) {
          // nothing comes
        }
      });
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.fieldViolations[0]?.field).toBe(field);
    }
  });
});
