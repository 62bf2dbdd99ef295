import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CustomerInventoryService } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { createEmptyDatabase } from "../support/database.js";
import { callError } from "../support/errors.js";
import { startServiceProcess } from "../support/process.js";
import { type Clients, startTestServer, type TestServer } from "../support/server.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { until } from "../support/until.js";

// Database faults on real PostgreSQL: down at start, connections cut or terminated under load,
// deadlines and disconnects cancelling queries, the pool running out.

const codeOf = (result: PromiseSettledResult<unknown>) =>
  result.status === "fulfilled" ? "OK" : Code[ConnectError.from(result.reason).code];

const tally = (results: PromiseSettledResult<unknown>[]) => {
  const counts: Record<string, number> = {};
  for (const r of results) counts[codeOf(r)] = (counts[codeOf(r)] ?? 0) + 1;
  return counts;
};

const databaseTarget = () => {
  const url = new URL(inject("adminUrl"));
  return { host: url.hostname, port: Number(url.port || 5432) };
};

/** Holds a customer's row lock (from another connection) until the returned function is called. */
async function holdRowLock(admin: postgres.Sql, id: string): Promise<() => Promise<void>> {
  let release = () => {};
  const released = new Promise<void>((r) => {
    release = r;
  });
  let locked = () => {};
  const isLocked = new Promise<void>((r) => {
    locked = r;
  });
  const holding = admin.begin(async (tx) => {
    await tx`select id from customers where id = ${id} for update`;
    locked();
    await released;
  });
  await isLocked;
  return async () => {
    release();
    await holding;
  };
}

/** The service's statements now waiting for a lock. */
async function lockWaiters(admin: postgres.Sql): Promise<number> {
  const [row] = await admin`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and application_name = 'customer-inventory'
      and wait_event_type = 'Lock'`;
  return Number(row?.n);
}

describe("database down at start", () => {
  it("starts, says NOT_SERVING, fails calls fast with UNAVAILABLE, then recovers by itself", async () => {
    const empty = await createEmptyDatabase();
    const proxy = await startTcpProxy(databaseTarget());
    proxy.setMode("refuse");
    const service = await startServiceProcess(
      { DATABASE_URL: proxy.rewrite(empty.url), DB_CONNECT_TIMEOUT_MS: "2000" },
      { until: "listening" },
    );
    try {
      const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${service.port}` });
      const health = createClient(Health, transport);
      const api = createClient(CustomerInventoryService, transport);
      expect((await health.check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
      const started = performance.now();
      const err = await callError(() => api.listCustomers({}));
      expect(err.code).toBe(Code.Unavailable);
      expect(performance.now() - started).toBeLessThan(1_000);

      proxy.setMode("pass");
      const returned = performance.now();
      await until(
        async () => (await health.check({ service: "" })).status === ServingStatus.SERVING,
        15_000,
        "SERVING",
      );
      expect(performance.now() - returned).toBeLessThan(10_000);
      const { customer } = await api.createCustomer({ customer: { name: "after the outage" } });
      expect((await api.getCustomer({ id: customer?.id ?? "" })).customer?.name).toBe(
        "after the outage",
      );
      expect(await service.stop("SIGTERM")).toBe(0);
    } finally {
      service.child.kill("SIGKILL");
      await proxy.close();
      await empty.drop();
    }
  }, 60_000);
});

describe("connections lost under load", () => {
  let proxy: TcpProxy;
  let server: TestServer;
  let api: Clients;
  beforeAll(async () => {
    proxy = await startTcpProxy(databaseTarget());
    server = await startTestServer({ connectThrough: (url) => proxy.rewrite(url) });
    api = server.clients("grpc");
  });
  afterAll(async () => {
    await server.close();
    await proxy.close();
  });

  /** Creates `count` customers with request ids while `fault` strikes; returns their outcomes. */
  async function createDuring(label: string, count: number, fault: () => Promise<void>) {
    const create = (i: number) =>
      api.inventory.createCustomer({
        customer: { name: `${label} ${i}` },
        requestId: `${label}-${i}`,
      });
    const calls = Array.from({ length: count }, (_, i) =>
      new Promise((r) => setTimeout(r, i * 2)).then(() => create(i)),
    );
    await new Promise((r) => setTimeout(r, count));
    await fault();
    const results = await Promise.allSettled(calls);
    return { results, create };
  }

  async function expectEveryAcknowledgedOnceAfterRetries(
    label: string,
    count: number,
    results: PromiseSettledResult<{ customer?: { id: string } }>[],
    create: (i: number) => Promise<{ customer?: { id: string } }>,
  ) {
    // What clients see: success or UNAVAILABLE (retry), never INTERNAL or anything else.
    for (const code of Object.keys(tally(results))) expect(["OK", "Unavailable"]).toContain(code);
    // Retrying with the same request id creates nothing twice and answers with the same id.
    const ids = new Map<number, string>();
    for (let i = 0; i < count; i++) {
      const first = results[i];
      const retried = await create(i);
      if (first?.status === "fulfilled")
        expect(retried.customer?.id).toBe(first.value.customer?.id);
      ids.set(i, retried.customer?.id ?? "");
    }
    const rows = await server.database.db.execute(
      `select id from customers where name like '${label} %'`,
    );
    expect(rows).toHaveLength(count);
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(ids.values()));
  }

  it("PostgreSQL terminating the service's backends: UNAVAILABLE, recovery, no duplicates", async () => {
    const admin = postgres(server.database.url, { max: 1, onnotice: () => {} });
    try {
      const { results, create } = await createDuring("terminated", 300, async () => {
        await admin`
          select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and application_name = 'customer-inventory'`;
      });
      expect(tally(results).OK).toBeGreaterThan(0);
      await expectEveryAcknowledgedOnceAfterRetries("terminated", 300, results, create);
    } finally {
      await admin.end();
    }
  }, 60_000);

  it("connections reset mid-call (a crash or a network cut): UNAVAILABLE, recovery, no duplicates", async () => {
    let cut = 0;
    const { results, create } = await createDuring("reset", 300, async () => {
      cut = proxy.cutAll();
    });
    expect(cut).toBeGreaterThan(0);
    await expectEveryAcknowledgedOnceAfterRetries("reset", 300, results, create);
    await until(async () => server.database.usage().inUse === 0, 2_000, "the pool to drain");
  }, 60_000);
});

describe("deadlines and cancellation reach PostgreSQL", () => {
  let server: TestServer;
  let admin: postgres.Sql;
  let customerId: string;
  beforeAll(async () => {
    server = await startTestServer({ poolSize: 10 });
    admin = postgres(server.database.url, { max: 2, onnotice: () => {} });
    const { customer } = await server
      .clients()
      .inventory.createCustomer({ customer: { name: "locked" } });
    customerId = customer?.id ?? "";
  });
  afterAll(async () => {
    await admin.end();
    await server.close();
  });

  const lockCustomer = () => holdRowLock(admin, customerId);

  const waitingOnLocks = () => lockWaiters(admin);

  const blockedUpdate = (api: Clients, options: { timeoutMs?: number; signal?: AbortSignal }) =>
    api.inventory.updateCustomer(
      { customer: { id: customerId, description: "x" }, updateMask: { paths: ["description"] } },
      options,
    );

  it.each(["grpc", "connect-json", "grpc-web"] as const)(
    "%s: a passed deadline answers DEADLINE_EXCEEDED and cancels the statement",
    async (kind) => {
      const unlock = await lockCustomer();
      try {
        const started = performance.now();
        const err = await callError(() => blockedUpdate(server.clients(kind), { timeoutMs: 300 }));
        expect(err.code).toBe(Code.DeadlineExceeded);
        expect(performance.now() - started).toBeLessThan(2_000);
        await until(async () => (await waitingOnLocks()) === 0, 2_000, "the lock wait to end");
      } finally {
        await unlock();
      }
    },
  );

  it("a client that goes away cancels its statement", async () => {
    const unlock = await lockCustomer();
    try {
      const controller = new AbortController();
      const call = blockedUpdate(server.clients("grpc"), { signal: controller.signal });
      await until(async () => (await waitingOnLocks()) === 1, 2_000, "the update to wait");
      controller.abort();
      await expect(call).rejects.toThrow();
      await until(async () => (await waitingOnLocks()) === 0, 2_000, "the lock wait to end");
    } finally {
      await unlock();
    }
  });

  it("10,000 calls ended by deadlines or disconnects leave the pool and memory flat", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const unlock = await lockCustomer();
    try {
      const measure = () => {
        gc();
        return process.memoryUsage().heapUsed;
      };
      // A connection per round, as from many clients: HTTP/2 closes a connection that
      // resets streams faster than its Rapid Reset limit (CVE-2023-44487, about 1,000).
      const round = (n: number) => {
        const api = {
          inventory: createClient(
            CustomerInventoryService,
            createGrpcTransport({ baseUrl: server.baseUrl, idleConnectionTimeoutMs: 500 }),
          ),
        } as Clients;
        return Promise.allSettled(
          Array.from({ length: 250 }, (_, i) => {
            if ((n + i) % 2 === 0) return blockedUpdate(api, { timeoutMs: 40 });
            const controller = new AbortController();
            setTimeout(() => controller.abort(), 40);
            return blockedUpdate(api, { signal: controller.signal });
          }),
        );
      };
      await round(0); // warm-up
      const before = measure();
      const codes: Record<string, number> = {};
      for (let n = 0; n < 40; n++) {
        for (const [code, count] of Object.entries(tally(await round(n)))) {
          codes[code] = (codes[code] ?? 0) + count;
        }
      }
      expect(codes).toEqual({ DeadlineExceeded: 5_000, Canceled: 5_000 });
      await until(
        async () => server.database.usage().inUse === 0 && (await waitingOnLocks()) === 0,
        // Generous: the suite runs files in parallel (Chromium among them) on two cores.
        15_000,
        "the pool to drain",
      );
      expect(server.database.usage()).toMatchObject({ inUse: 0, waiting: 0 });
      const grownMiB = (measure() - before) / 2 ** 20;
      expect(grownMiB).toBeLessThan(16);
    } finally {
      await unlock();
    }
    // And the pool still works.
    const { customer } = await server.clients("grpc").inventory.getCustomer({ id: customerId });
    expect(customer?.id).toBe(customerId);
  }, 120_000);
});

describe("the server's own caps on a call's time", () => {
  /** A server with `options`, a customer whose row is locked, and an update that waits on it. */
  async function blockedCall(
    options: Parameters<typeof startTestServer>[0],
    callOptions: { timeoutMs?: number },
  ) {
    const server = await startTestServer(options);
    const admin = postgres(server.database.url, { max: 2, onnotice: () => {} });
    const api = server.clients("grpc");
    const { customer } = await api.inventory.createCustomer({ customer: { name: "capped" } });
    const unlock = await holdRowLock(admin, customer?.id ?? "");
    try {
      const started = performance.now();
      const err = await callError(() =>
        api.inventory.updateCustomer(
          {
            customer: { id: customer?.id, description: "x" },
            updateMask: { paths: ["description"] },
          },
          callOptions,
        ),
      );
      const elapsedMs = performance.now() - started;
      await until(async () => (await lockWaiters(admin)) === 0, 2_000, "the lock wait to end");
      return { err, elapsedMs };
    } finally {
      await unlock();
      await admin.end();
      await server.close();
    }
  }

  it("gives a call that sends no deadline the default one", async () => {
    const { err, elapsedMs } = await blockedCall({ defaultDeadlineMs: 300 }, {});
    // The server's own deadline is an error of the service: ErrorInfo and the request id.
    expect(err).toMatchObject({ code: Code.DeadlineExceeded, reason: "DEADLINE_EXCEEDED" });
    expect(err.message).toMatch(/server's default deadline \(request id [0-9a-f-]{36}\)$/);
    expect(elapsedMs).toBeGreaterThanOrEqual(250);
    expect(elapsedMs).toBeLessThan(2_000);
  });

  it("cuts a longer deadline to the maximum", async () => {
    const { err, elapsedMs } = await blockedCall({ maxDeadlineMs: 300 }, { timeoutMs: 60_000 });
    expect(err).toMatchObject({ code: Code.DeadlineExceeded, reason: "DEADLINE_EXCEEDED" });
    expect(elapsedMs).toBeLessThan(2_000);
  });

  it("stops a statement at PostgreSQL's lock_timeout when the deadline is longer", async () => {
    const { err, elapsedMs } = await blockedCall(
      { statementTimeoutMs: 300 },
      { timeoutMs: 30_000 },
    );
    expect(err).toMatchObject({ code: Code.DeadlineExceeded, reason: "DEADLINE_EXCEEDED" });
    expect(elapsedMs).toBeLessThan(2_000);
  });
});

describe("pool exhaustion", () => {
  it("queues a bounded number of calls, refuses the rest at once, and fails the queued at their deadline", async () => {
    const server = await startTestServer({ poolSize: 2, maxWaiting: 3 });
    const admin = postgres(server.database.url, { max: 1, onnotice: () => {} });
    let unlock = async () => {};
    try {
      const api = server.clients("grpc");
      const { customer } = await api.inventory.createCustomer({ customer: { name: "held" } });
      const id = customer?.id ?? "";
      unlock = await holdRowLock(admin, id);
      // Two updates wait on the lock and hold both connections.
      const updates = [1, 2].map(() =>
        api.inventory.updateCustomer(
          { customer: { id, description: "later" }, updateMask: { paths: ["description"] } },
          { timeoutMs: 10_000 },
        ),
      );
      await until(async () => server.database.usage().inUse === 2, 2_000, "a full pool");
      const queued = [1, 2, 3].map(() => api.inventory.getCustomer({ id }, { timeoutMs: 500 }));
      await until(async () => server.database.usage().waiting === 3, 2_000, "a full queue");
      const started = performance.now();
      const refused = await callError(() => api.inventory.getCustomer({ id }, { timeoutMs: 500 }));
      expect(refused).toMatchObject({ code: Code.Unavailable, reason: "DATABASE_BUSY" });
      expect(performance.now() - started).toBeLessThan(250);
      const outcomes = await Promise.allSettled(queued);
      expect(tally(outcomes)).toEqual({ DeadlineExceeded: 3 });
      expect(performance.now() - started).toBeLessThan(2_000);
      await unlock();
      expect(tally(await Promise.allSettled(updates))).toEqual({ OK: 2 });
      await until(async () => server.database.usage().waiting === 0, 2_000, "an empty queue");
      expect((await api.inventory.getCustomer({ id })).customer?.name).toBe("held");
    } finally {
      await unlock();
      await admin.end();
      await server.close();
    }
  }, 30_000);
});
