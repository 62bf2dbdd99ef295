import { type Client, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CustomerInventoryService } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { ChangeKind, type CustomerChange } from "../../gen/customerinventory/v1/resources_pb.js";
import { ServiceInstanceService } from "../../gen/customerinventory/v1/service_instance_service_pb.js";
import { recordChanges } from "../../src/store/changes.js";
import { customers } from "../../src/store/schema.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type ServiceProcess, startServiceProcess } from "../support/process.js";

// The feed's promise under concurrency, with real processes: three replicas on one
// database, eight writers, recording transactions held open while others commit (the
// classic outbox gap: an older transaction id committing after a newer one), and watchers
// that disconnect at random points and resume with their cursor on another replica. Every
// watcher must receive every committed change exactly once, in the feed's one order, and a
// change committed before another started must come first.

const WRITERS = 8;
const OPERATIONS_PER_WRITER = 45;
const WATCHERS = 4;

let database: TestDatabase;
let replicas: ServiceProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  replicas = await Promise.all(
    [0, 1, 2].map(() =>
      startServiceProcess({ DATABASE_URL: database.url, WATCH_HEARTBEAT_MS: "250" }),
    ),
  );
}, 90_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop("SIGTERM")));
  await database?.drop();
});

type Inventory = Client<typeof CustomerInventoryService>;
const clientsOf = (port: number, grpc: boolean) => {
  const baseUrl = `http://127.0.0.1:${port}`;
  const transport = grpc
    ? createGrpcTransport({ baseUrl })
    : createConnectTransport({ baseUrl, httpVersion: "2" });
  return {
    inventory: createClient(CustomerInventoryService, transport),
    instances: createClient(ServiceInstanceService, transport),
  };
};

const random = (n: number) => Math.floor(Math.random() * n);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A write acknowledged to its client: its change committed between start and end. */
interface Acknowledged {
  requestId: string;
  start: number;
  end: number;
}

async function writer(w: number, acknowledged: Acknowledged[]) {
  const owned: { id: string; instances: string[] }[] = [];
  for (let op = 0; op < OPERATIONS_PER_WRITER; op++) {
    const c = clientsOf((replicas[random(replicas.length)] as ServiceProcess).port, op % 2 === 0);
    const requestId = `w${w}-op${op}`;
    const options = { headers: { "x-request-id": requestId } };
    const start = performance.now();
    const target = owned[random(owned.length)];
    const roll = Math.random();
    if (!target || roll < 0.35) {
      const { customer } = await c.inventory.createCustomer(
        { customer: { name: `writer ${w} customer ${op}` } },
        options,
      );
      owned.push({ id: customer?.id as string, instances: [] });
    } else if (roll < 0.65) {
      await c.inventory.updateCustomer(
        {
          customer: { id: target.id, description: `op ${op}` },
          updateMask: { paths: ["description"] },
        },
        options,
      );
    } else if (roll < 0.8) {
      const { serviceInstance } = await c.instances.createServiceInstance(
        { serviceInstance: { customerId: target.id, name: `i${op}`, serviceType: "L3VPN" } },
        options,
      );
      target.instances.push(serviceInstance?.id as string);
    } else if (target.instances.length > 0) {
      await c.instances.deleteServiceInstance({ id: target.instances.pop() as string }, options);
    } else {
      await c.inventory.deleteCustomer({ id: target.id }, options);
      owned.splice(owned.indexOf(target), 1);
    }
    acknowledged.push({ requestId, start, end: performance.now() });
  }
}

/**
 * A transaction that takes its id, records a change, and stays open while others commit:
 * its change has an older position than theirs but commits after them.
 */
async function longTransaction(n: number, customerId: string, holdMs: number) {
  await database.db.transaction(async (tx) => {
    const [row] = await tx
      .update(customers)
      .set({ description: `held ${n}`, updateTime: sql`now()` })
      .where(eq(customers.id, customerId))
      .returning();
    await recordChanges(tx, { actor: "long", requestId: `long-${n}` }, [
      { kind: "CUSTOMER_UPDATED", customerId, changedFields: ["description"] },
    ]);
    if (!row) throw new Error("no customer for the long transaction");
    await sleep(holdMs);
  });
}

/** A watcher that disconnects at random points and resumes elsewhere with its cursor. */
async function flakyWatcher(
  startAfter: string,
  filter: string,
  /** When the writes ended; undefined while they go on. */
  writesEnded: () => number | undefined,
): Promise<{ changes: CustomerChange[]; reconnects: number }> {
  const changes: CustomerChange[] = [];
  let cursor = startAfter;
  let reconnects = 0;
  let idleSince = performance.now();
  for (;;) {
    const replica = replicas[random(replicas.length)] as ServiceProcess;
    const { inventory } = clientsOf(replica.port, Math.random() < 0.5);
    const abort = new AbortController();
    const lifetime = setTimeout(() => abort.abort(), 50 + random(400));
    try {
      for await (const message of (inventory as Inventory).watchCustomerChanges(
        { startAfter: cursor, filter },
        { signal: abort.signal },
      )) {
        changes.push(...message.changes);
        cursor = message.cursor;
        if (message.changes.length > 0) idleSince = performance.now();
        // Sometimes stop right after a message, mid-burst.
        if (Math.random() < 0.05) abort.abort();
      }
    } catch (err) {
      if (!abort.signal.aborted) throw ConnectError.from(err);
    } finally {
      clearTimeout(lifetime);
    }
    reconnects += 1;
    // Done once nothing arrived for 1.5 s after the last write too: a filtered watcher may
    // have had nothing to receive for a while before its last change.
    const ended = writesEnded();
    if (ended !== undefined && performance.now() - Math.max(idleSince, ended) > 1_500) {
      return { changes, reconnects };
    }
  }
}

async function allChanges(): Promise<CustomerChange[]> {
  const { inventory } = clientsOf((replicas[0] as ServiceProcess).port, false);
  const all: CustomerChange[] = [];
  let pageToken = "";
  do {
    const page = await inventory.listCustomerChanges({ pageSize: 1000, pageToken });
    all.push(...page.changes);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return all.reverse();
}

it("delivers every committed change exactly once, in one commit-consistent order, across replicas and reconnects", async () => {
  const first = clientsOf((replicas[0] as ServiceProcess).port, false);
  // The watchers start from a cursor taken before any write.
  let startCursor = "";
  const opening = new AbortController();
  try {
    for await (const message of first.inventory.watchCustomerChanges(
      {},
      { signal: opening.signal },
    )) {
      startCursor = message.cursor;
      opening.abort();
    }
  } catch (err) {
    if (!opening.signal.aborted) throw err;
  }
  const { customer: held } = await first.inventory.createCustomer({
    customer: { name: "held by long transactions" },
  });
  const acknowledged: Acknowledged[] = [];
  let writesEnded: number | undefined;
  const watchers = Array.from({ length: WATCHERS }, (_, i) =>
    flakyWatcher(startCursor, i === 0 ? `kind = "CUSTOMER_UPDATED"` : "", () => writesEnded),
  );
  const longOnes = (async () => {
    for (let n = 0; n < 4; n++) {
      await sleep(200 + random(300));
      await longTransaction(n, held?.id as string, 400 + random(800));
    }
  })();
  await Promise.all([
    ...Array.from({ length: WRITERS }, (_, w) => writer(w, acknowledged)),
    longOnes,
  ]);
  writesEnded = performance.now();
  const received = await Promise.all(watchers);
  const feed = await allChanges();

  // Everything acknowledged is in the feed, once; plus the creates of `held` and the long ones.
  expect(feed.length).toBe(acknowledged.length + 1 + 4);
  const sequences = feed.map((c) => c.sequence);
  expect(new Set(sequences).size).toBe(sequences.length);
  const byRequest = new Map(feed.map((c) => [c.requestId, c]));
  expect(acknowledged.every((a) => byRequest.has(a.requestId))).toBe(true);

  // Each watcher: exactly the feed (or its filtered part), in order, no gap, no repeat.
  for (const [i, { changes, reconnects }] of received.entries()) {
    const expected = i === 0 ? feed.filter((c) => c.kind === ChangeKind.CUSTOMER_UPDATED) : feed;
    expect(
      changes.map((c) => c.sequence),
      `watcher ${i} after ${reconnects} reconnects`,
    ).toEqual(expected.map((c) => c.sequence));
    expect(reconnects).toBeGreaterThan(3);
  }

  // Commit order: a write acknowledged before another one started comes first.
  const ordered = [...acknowledged].sort((a, b) => a.end - b.end);
  let violations = 0;
  for (const later of acknowledged) {
    const position = byRequest.get(later.requestId)?.sequence as bigint;
    for (const earlier of ordered) {
      if (earlier.end >= later.start) break;
      if ((byRequest.get(earlier.requestId)?.sequence as bigint) >= position) violations += 1;
    }
  }
  expect(violations).toBe(0);
}, 120_000);
