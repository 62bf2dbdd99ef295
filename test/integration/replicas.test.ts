import { readFileSync } from "node:fs";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CustomerInventoryService } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { ServiceInstanceService } from "../../gen/customerinventory/v1/service_instance_service_pb.js";
import { createEmptyDatabase } from "../support/database.js";
import { callError } from "../support/errors.js";
import { type ServiceProcess, startServiceProcess } from "../support/process.js";

// The service is stateless: three processes on one database behave as one service.

const SECRET = "a-page-token-key-shared-by-all-replicas";

const clientsOf = (service: ServiceProcess) => {
  const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${service.port}` });
  return {
    inventory: createClient(CustomerInventoryService, transport),
    instances: createClient(ServiceInstanceService, transport),
  };
};
type Clients = ReturnType<typeof clientsOf>;

const codeOf = (result: PromiseSettledResult<unknown>) =>
  result.status === "fulfilled" ? "OK" : Code[ConnectError.from(result.reason).code];

let database: { url: string; drop(): Promise<void> };
let replicas: ServiceProcess[] = [];
let api: Clients[];
let sql: postgres.Sql;

beforeAll(async () => {
  database = await createEmptyDatabase();
  // All three start together on an empty database: they race to migrate it.
  replicas = await Promise.all(
    [1, 2, 3].map(() =>
      startServiceProcess({
        DATABASE_URL: database.url,
        NODE_ENV: "production",
        PAGE_TOKEN_SECRET: SECRET,
      }),
    ),
  );
  api = replicas.map(clientsOf);
  sql = postgres(database.url, { max: 2, onnotice: () => {} });
}, 60_000);

afterAll(async () => {
  await sql?.end();
  await Promise.all(replicas.map((r) => r.stop("SIGTERM")));
  await database?.drop();
});

/** The replica for the i-th call: calls are spread round-robin. */
const replica = (i: number) => api[i % api.length] as Clients;

describe("three replicas on one database", () => {
  it("migrated it exactly once while starting together", async () => {
    const applied = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    const journal = JSON.parse(
      readFileSync(new URL("../../drizzle/meta/_journal.json", import.meta.url), "utf8"),
    ) as { entries: unknown[] };
    expect(applied[0]?.n).toBe(journal.entries.length);
    for (const r of replicas) {
      expect(r.logs.some((l) => l.level === "error")).toBe(false);
    }
  });

  it("accept each other's page tokens: one walk across all three sees every row once", async () => {
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        replica(i).inventory.createCustomer({
          customer: { name: `paged ${String(i).padStart(2, "0")}` },
        }),
      ),
    );
    const seen: string[] = [];
    let pageToken = "";
    for (let page = 0; ; page++) {
      const res = await replica(page).inventory.listCustomers({
        filter: 'name = "paged*"',
        pageSize: 4,
        pageToken,
      });
      seen.push(...res.customers.map((c) => c.name));
      pageToken = res.nextPageToken;
      if (!pageToken) break;
    }
    expect(seen).toEqual(
      Array.from({ length: 25 }, (_, i) => `paged ${String(i).padStart(2, "0")}`),
    );
  });

  it("refuse a page token signed with another key", async () => {
    const first = await replica(0).inventory.listCustomers({ pageSize: 1 });
    const stranger = await startServiceProcess({
      DATABASE_URL: database.url,
      PAGE_TOKEN_SECRET: "a-different-key-from-another-deployment",
    });
    try {
      const err = await callError(() =>
        clientsOf(stranger).inventory.listCustomers({
          pageSize: 1,
          pageToken: first.nextPageToken,
        }),
      );
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.fieldViolations[0]?.field).toBe("page_token");
    } finally {
      await stranger.stop("SIGTERM");
    }
  }, 30_000);

  it("let exactly one of 90 parallel creates with one name win", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 90 }, (_, i) =>
        replica(i).inventory.createCustomer({ customer: { name: "Contested Networks" } }),
      ),
    );
    const codes = results.map(codeOf);
    expect(codes.filter((c) => c === "OK")).toHaveLength(1);
    expect(codes.filter((c) => c === "AlreadyExists")).toHaveLength(89);
  });

  it("create one customer for 90 parallel creates with one request_id", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 90 }, (_, i) =>
        replica(i).inventory.createCustomer({
          customer: { name: "Idempotent Networks" },
          requestId: "replicas-one-request",
        }),
      ),
    );
    const ids = new Set(
      results.flatMap((r) => (r.status === "fulfilled" ? [r.value.customer?.id] : [])),
    );
    expect(ids.size).toBe(1);
    for (const code of results.map(codeOf)) expect(["OK", "Aborted"]).toContain(code);
    const rows = await sql`select id from customers where name = 'Idempotent Networks'`;
    expect(rows.map((r) => r.id)).toEqual([...ids]);
  });

  it("let exactly one of two updates with one etag win, from two replicas", async () => {
    for (let round = 0; round < 30; round++) {
      const { customer } = await replica(round).inventory.createCustomer({
        customer: { name: `etag race ${round}` },
      });
      const update = (r: number) =>
        replica(r).inventory.updateCustomer({
          customer: { id: customer?.id, description: `from ${r}`, etag: customer?.etag },
          updateMask: { paths: ["description"] },
        });
      const codes = (await Promise.allSettled([update(round), update(round + 1)])).map(codeOf);
      expect(codes.sort()).toEqual(["Aborted", "OK"]);
    }
  });

  it("never orphan an instance when a delete and an instance create race on two replicas", async () => {
    for (let round = 0; round < 60; round++) {
      const { customer } = await replica(round).inventory.createCustomer({
        customer: { name: `delete race ${round}` },
      });
      const id = customer?.id ?? "";
      const outcome = (
        await Promise.allSettled([
          replica(round).inventory.deleteCustomer({ id }),
          replica(round + 1).instances.createServiceInstance({
            serviceInstance: { customerId: id, name: "vpn", serviceType: "L3VPN" },
          }),
        ])
      )
        .map(codeOf)
        .join("/");
      expect(["OK/NotFound", "FailedPrecondition/OK"]).toContain(outcome);
    }
    const orphans = await sql`
      select i.id from service_instances i left join customers c on c.id = i.customer_id
      where c.id is null`;
    expect(orphans).toHaveLength(0);
  });

  it("agree on counts: total_size and every instance counter match the rows", async () => {
    const real = await sql`select count(*)::int as n from customers`;
    for (const r of api) {
      expect((await r.inventory.listCustomers({ pageSize: 1 })).totalSize).toBe(real[0]?.n);
    }
    const drifting = await sql`
      select c.id from customers c left join service_instances i on i.customer_id = c.id
      group by c.id having c.service_instance_count <> count(i.id)`;
    expect(drifting).toHaveLength(0);
  });
});
