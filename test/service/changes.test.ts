import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChangeKind, type CustomerChange } from "../../gen/customerinventory/v1/resources_pb.js";
import { createJwtAuthenticator } from "../../src/interceptors/auth.js";
import { createChangeStore } from "../../src/store/changes.js";
import { callError } from "../support/errors.js";
import { createTestIssuer } from "../support/jwt.js";
import {
  type Clients,
  startTestServer,
  type TestServer,
  transportKinds,
} from "../support/server.js";
import { startWatch } from "../support/watch.js";

// The change history and feed through real clients: what is recorded (and what is not),
// ListCustomerChanges, and WatchCustomerChanges over every protocol.

const idp = createTestIssuer("a-test-secret-of-at-least-32-chars!!");
let server: TestServer;
let clients: Clients;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  server = await startTestServer({
    authenticator: createJwtAuthenticator({
      key: idp.key,
      issuer: idp.issuer,
      audience: idp.audience,
    }),
    changeFeed: { heartbeatMs: 300 },
  });
  clients = server.clients("connect-json");
  for (const [sub, role] of [
    ["alice", "editor"],
    ["bob", "editor"],
    ["victor", "viewer"],
  ] as const) {
    tokens[sub] = `Bearer ${await idp.sign({ sub, role })}`;
  }
});
afterAll(() => server.close());

let requestCounter = 0;
/** Call options as `sub`, with a request id of their own (returned). */
const as = (sub: string) => {
  const requestId = `req-${++requestCounter}-${sub}`;
  return {
    requestId,
    headers: { authorization: tokens[sub] as string, "x-request-id": requestId },
  };
};
const callOptions = ({ headers }: { headers: Record<string, string> }) => ({ headers });

let nameCounter = 0;
const uniqueName = (prefix: string) => `${prefix} ${++nameCounter} ${Date.now()}`;

/** Every change of one customer, oldest first. */
async function historyOf(customerId: string, viewer = "victor"): Promise<CustomerChange[]> {
  const res = await clients.inventory.listCustomerChanges(
    { customerId, pageSize: 1000 },
    callOptions(as(viewer)),
  );
  return [...res.changes].reverse();
}

/** Changes become readable once no older transaction runs: wait for that briefly. */
async function settledHistory(customerId: string, count: number): Promise<CustomerChange[]> {
  for (let i = 0; i < 50; i++) {
    const changes = await historyOf(customerId);
    if (changes.length >= count) return changes;
    await new Promise((r) => setTimeout(r, 20));
  }
  return historyOf(customerId);
}

async function newCustomer(sub = "alice", fields: { description?: string } = {}) {
  const options = as(sub);
  const { customer } = await clients.inventory.createCustomer(
    { customer: { name: uniqueName("Changes"), description: fields.description ?? "" } },
    callOptions(options),
  );
  if (!customer) throw new Error("no customer");
  return { customer, requestId: options.requestId };
}

describe("what is recorded", () => {
  it("CreateCustomer: one CUSTOMER_CREATED with the actor, request id and the new customer", async () => {
    const { customer, requestId } = await newCustomer("alice", { description: "first" });
    const [change, ...rest] = await settledHistory(customer.id, 1);
    expect(rest).toEqual([]);
    expect(change?.kind).toBe(ChangeKind.CUSTOMER_CREATED);
    expect(change?.customerId).toBe(customer.id);
    expect(change?.actor).toBe("alice");
    expect(change?.requestId).toBe(requestId);
    expect(change?.customer).toEqual(customer);
    expect(change?.previousCustomer).toBeUndefined();
    expect(change?.changedFields).toEqual([]);
    expect(change?.serviceInstance).toBeUndefined();
    expect(change?.sequence).toBeGreaterThan(0n);
    expect(change?.cursor).not.toBe("");
    const made = timestampDate(change?.changeTime as NonNullable<CustomerChange["changeTime"]>);
    expect(Math.abs(made.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it("UpdateCustomer: before, after and the changed fields in contract order; nothing for a no-op", async () => {
    const { customer } = await newCustomer();
    const options = as("bob");
    const { customer: after } = await clients.inventory.updateCustomer(
      {
        customer: { id: customer.id, description: "second", name: `${customer.name} renamed` },
        updateMask: { paths: ["description", "name"] },
      },
      callOptions(options),
    );
    // The same values again: a no-op, recorded as nothing.
    await clients.inventory.updateCustomer(
      {
        customer: { id: customer.id, description: "second" },
        updateMask: { paths: ["description"] },
      },
      callOptions(as("bob")),
    );
    const changes = await settledHistory(customer.id, 2);
    expect(changes.map((c) => c.kind)).toEqual([
      ChangeKind.CUSTOMER_CREATED,
      ChangeKind.CUSTOMER_UPDATED,
    ]);
    const update = changes[1];
    expect(update?.actor).toBe("bob");
    expect(update?.requestId).toBe(options.requestId);
    expect(update?.previousCustomer).toEqual(customer);
    expect(update?.customer).toEqual(after);
    expect(update?.changedFields).toEqual(["name", "description"]);
    expect((changes[0]?.sequence ?? 0n) < (update?.sequence ?? 0n)).toBe(true);
  });

  it("DeleteCustomer: CUSTOMER_DELETED with the last state; nothing for validate_only or a refusal", async () => {
    const { customer } = await newCustomer();
    await clients.inventory.deleteCustomer(
      { id: customer.id, validateOnly: true },
      callOptions(as("alice")),
    );
    expect(
      (
        await callError(() =>
          clients.inventory.deleteCustomer(
            { id: customer.id, etag: "stale" },
            callOptions(as("alice")),
          ),
        )
      ).code,
    ).toBe(Code.Aborted);
    const options = as("alice");
    await clients.inventory.deleteCustomer({ id: customer.id }, callOptions(options));
    const changes = await settledHistory(customer.id, 2);
    expect(changes.map((c) => c.kind)).toEqual([
      ChangeKind.CUSTOMER_CREATED,
      ChangeKind.CUSTOMER_DELETED,
    ]);
    expect(changes[1]?.customer).toEqual(customer);
    expect(changes[1]?.requestId).toBe(options.requestId);
  });

  it("service instances: created and deleted, with the instance; a refused customer delete records nothing", async () => {
    const { customer } = await newCustomer();
    const { serviceInstance } = await clients.instances.createServiceInstance(
      { serviceInstance: { customerId: customer.id, name: "vpn-1", serviceType: "L3VPN" } },
      callOptions(as("bob")),
    );
    expect(
      (
        await callError(() =>
          clients.inventory.deleteCustomer({ id: customer.id }, callOptions(as("alice"))),
        )
      ).code,
    ).toBe(Code.FailedPrecondition);
    await clients.instances.deleteServiceInstance(
      { id: serviceInstance?.id as string },
      callOptions(as("bob")),
    );
    const changes = await settledHistory(customer.id, 3);
    expect(changes.map((c) => c.kind)).toEqual([
      ChangeKind.CUSTOMER_CREATED,
      ChangeKind.SERVICE_INSTANCE_CREATED,
      ChangeKind.SERVICE_INSTANCE_DELETED,
    ]);
    expect(changes[1]?.serviceInstance).toEqual(serviceInstance);
    expect(changes[2]?.serviceInstance).toEqual(serviceInstance);
    expect(changes[1]?.customer).toBeUndefined();
    expect(changes[2]?.customerId).toBe(customer.id);
  });

  it("renaming a customer with instances is one CUSTOMER_UPDATED, not a change per instance", async () => {
    const { customer } = await newCustomer();
    for (const name of ["a", "b"]) {
      await clients.instances.createServiceInstance(
        { serviceInstance: { customerId: customer.id, name, serviceType: "ELAN" } },
        callOptions(as("bob")),
      );
    }
    await clients.inventory.updateCustomer(
      {
        customer: { id: customer.id, name: `${customer.name} 2` },
        updateMask: { paths: ["name"] },
      },
      callOptions(as("bob")),
    );
    const changes = await settledHistory(customer.id, 4);
    expect(changes.map((c) => c.kind)).toEqual([
      ChangeKind.CUSTOMER_CREATED,
      ChangeKind.SERVICE_INSTANCE_CREATED,
      ChangeKind.SERVICE_INSTANCE_CREATED,
      ChangeKind.CUSTOMER_UPDATED,
    ]);
    expect(changes[3]?.changedFields).toEqual(["name"]);
  });

  it("records nothing for validate_only creates and updates, failed calls and idempotent replays", async () => {
    const { customer } = await newCustomer();
    const name = uniqueName("Dry");
    await clients.inventory.createCustomer(
      { customer: { name }, validateOnly: true },
      callOptions(as("alice")),
    );
    await clients.inventory.updateCustomer(
      { customer: { id: customer.id, name: "never" }, validateOnly: true },
      callOptions(as("alice")),
    );
    // Name taken: fails.
    expect(
      (
        await callError(() =>
          clients.inventory.createCustomer(
            { customer: { name: customer.name } },
            callOptions(as("alice")),
          ),
        )
      ).code,
    ).toBe(Code.AlreadyExists);
    // A request_id twice: one customer, one record.
    const replayed = uniqueName("Replayed");
    const first = await clients.inventory.createCustomer(
      { customer: { name: replayed }, requestId: `rid-${replayed}` },
      callOptions(as("alice")),
    );
    const second = await clients.inventory.createCustomer(
      { customer: { name: replayed }, requestId: `rid-${replayed}` },
      callOptions(as("alice")),
    );
    expect(second.customer?.id).toBe(first.customer?.id);
    const instanceKey = `inst-${replayed}`;
    for (let i = 0; i < 2; i++) {
      await clients.instances.createServiceInstance(
        {
          serviceInstance: { customerId: first.customer?.id, name: "x", serviceType: "L3VPN" },
          requestId: instanceKey,
        },
        callOptions(as("alice")),
      );
    }
    expect((await settledHistory(customer.id, 1)).map((c) => c.kind)).toEqual([
      ChangeKind.CUSTOMER_CREATED,
    ]);
    expect((await settledHistory(first.customer?.id as string, 2)).map((c) => c.kind)).toEqual([
      ChangeKind.CUSTOMER_CREATED,
      ChangeKind.SERVICE_INSTANCE_CREATED,
    ]);
    const all = await clients.inventory.listCustomerChanges(
      { filter: `actor = "alice" AND kind = "CUSTOMER_CREATED"`, pageSize: 1000 },
      callOptions(as("victor")),
    );
    expect(all.changes.some((c) => c.customer?.name === name)).toBe(false);
  });
});

describe("ListCustomerChanges", () => {
  it("is newest first and pages with tokens bound to the query", async () => {
    const { customer } = await newCustomer();
    for (let i = 0; i < 4; i++) {
      await clients.inventory.updateCustomer(
        {
          customer: { id: customer.id, description: `v${i}` },
          updateMask: { paths: ["description"] },
        },
        callOptions(as("alice")),
      );
    }
    await settledHistory(customer.id, 5);
    const seen: CustomerChange[] = [];
    let pageToken = "";
    do {
      const page = await clients.inventory.listCustomerChanges(
        { customerId: customer.id, pageSize: 2, pageToken },
        callOptions(as("victor")),
      );
      expect(page.changes.length).toBeLessThanOrEqual(2);
      seen.push(...page.changes);
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seen.map((c) => c.customer?.description)).toEqual(["v3", "v2", "v1", "v0", ""]);
    const sequences = seen.map((c) => c.sequence);
    expect([...sequences].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))).toEqual(sequences);

    const first = await clients.inventory.listCustomerChanges(
      { customerId: customer.id, pageSize: 2 },
      callOptions(as("victor")),
    );
    const other = await callError(() =>
      clients.inventory.listCustomerChanges(
        { pageSize: 2, pageToken: first.nextPageToken },
        callOptions(as("victor")),
      ),
    );
    expect(other.code).toBe(Code.InvalidArgument);
    expect(other.fieldViolations[0]?.field).toBe("page_token");
  });

  it("filters by kind, actor, request_id, customer_id and change_time", async () => {
    const { customer } = await newCustomer("bob");
    const options = as("alice");
    await clients.inventory.updateCustomer(
      {
        customer: { id: customer.id, description: "by alice" },
        updateMask: { paths: ["description"] },
      },
      callOptions(options),
    );
    await settledHistory(customer.id, 2);
    const list = async (filter: string) =>
      (
        await clients.inventory.listCustomerChanges(
          { customerId: customer.id, filter },
          callOptions(as("victor")),
        )
      ).changes.map((c) => c.kind);
    expect(await list(`kind = "CUSTOMER_UPDATED"`)).toEqual([ChangeKind.CUSTOMER_UPDATED]);
    expect(await list(`kind = "customer_created"`)).toEqual([ChangeKind.CUSTOMER_CREATED]);
    expect(await list(`actor = "BOB"`)).toEqual([ChangeKind.CUSTOMER_CREATED]);
    expect(await list(`request_id = "${options.requestId}"`)).toEqual([
      ChangeKind.CUSTOMER_UPDATED,
    ]);
    expect(await list(`customer_id = "${customer.id.toLowerCase()}"`)).toHaveLength(2);
    expect(
      await list(`change_time > "2000-01-01T00:00:00Z" AND NOT kind : "DELETED"`),
    ).toHaveLength(2);
    expect(await list(`change_time < "2000-01-01T00:00:00Z"`)).toEqual([]);
    expect(await list(`kind = "CUSTOMER_*" OR actor = "nobody"`)).toHaveLength(2);
  });

  it("refuses unknown fields, bare keywords and bad ids with the field named", async () => {
    for (const [request, field] of [
      [{ filter: `name = "x"` }, "filter"],
      [{ filter: "alice" }, "filter"],
      [{ filter: `change_time > "yesterday"` }, "filter"],
      [{ customerId: "not-an-id" }, "customer_id"],
      [{ pageSize: -1 }, "page_size"],
    ] as const) {
      const err = await callError(() =>
        clients.inventory.listCustomerChanges(request, callOptions(as("victor"))),
      );
      expect(err.code, JSON.stringify(request)).toBe(Code.InvalidArgument);
      expect(err.fieldViolations[0]?.field).toBe(field);
    }
    const unknown = await callError(() =>
      clients.inventory.listCustomerChanges({ filter: `knd = "X"` }, callOptions(as("victor"))),
    );
    expect(unknown.fieldViolations[0]?.description).toContain('did you mean "kind"');
  });
});

describe("WatchCustomerChanges", () => {
  for (const kind of transportKinds) {
    it(`over ${kind}: starts with a heartbeat, then delivers live changes in order, and resumes after a cursor`, async () => {
      const c = server.clients(kind);
      const headers = { authorization: tokens.victor as string };
      const watcher = await startWatch(c, {}, { headers });
      expect(watcher.messages[0]?.changes).toEqual([]);
      expect(watcher.messages[0]?.cursor).not.toBe("");
      const { customer } = await newCustomer();
      await clients.inventory.updateCustomer(
        {
          customer: { id: customer.id, description: "live" },
          updateMask: { paths: ["description"] },
        },
        callOptions(as("alice")),
      );
      const mine = (changes: CustomerChange[]) =>
        changes.filter((x) => x.customerId === customer.id);
      const started = Date.now();
      await watcher.until((changes) => mine(changes).length >= 2, 3_000);
      expect(Date.now() - started).toBeLessThan(1_500);
      expect(mine(watcher.changes()).map((x) => x.kind)).toEqual([
        ChangeKind.CUSTOMER_CREATED,
        ChangeKind.CUSTOMER_UPDATED,
      ]);
      const cursorAfterCreate = mine(watcher.changes())[0]?.cursor as string;
      await watcher.stop();

      // From the create's cursor: the update, and then live changes.
      const resumed = await startWatch(
        c,
        { startAfter: cursorAfterCreate, customerId: customer.id },
        { headers },
      );
      await resumed.until((changes) => changes.length >= 1);
      await clients.inventory.deleteCustomer({ id: customer.id }, callOptions(as("alice")));
      await resumed.until((changes) => changes.length >= 2);
      expect(resumed.changes().map((x) => x.kind)).toEqual([
        ChangeKind.CUSTOMER_UPDATED,
        ChangeKind.CUSTOMER_DELETED,
      ]);
      await resumed.stop();
    });
  }

  it("sends only matching changes, and heartbeats with a cursor that resumes without a gap", async () => {
    const headers = { authorization: tokens.victor as string };
    const watcher = await startWatch(
      clients,
      { filter: `kind = "CUSTOMER_DELETED" AND actor = "bob"` },
      { headers },
    );
    const { customer: kept } = await newCustomer("bob");
    const { customer: doomed } = await newCustomer("alice");
    await clients.inventory.deleteCustomer({ id: doomed.id }, callOptions(as("alice")));
    // Heartbeats (every 300 ms here) come while nothing matches.
    await new Promise((r) => setTimeout(r, 800));
    expect(watcher.messages.length).toBeGreaterThanOrEqual(2);
    expect(watcher.changes()).toEqual([]);
    const checkpoint = watcher.cursor();
    await watcher.stop();
    await clients.inventory.deleteCustomer({ id: kept.id }, callOptions(as("bob")));
    const resumed = await startWatch(
      clients,
      { filter: `kind = "CUSTOMER_DELETED" AND actor = "bob"`, startAfter: checkpoint },
      { headers },
    );
    await resumed.until((changes) => changes.length >= 1);
    expect(resumed.changes().map((x) => x.customerId)).toEqual([kept.id]);
    await resumed.stop();
  });

  it("without start_after, sends nothing committed before it started", async () => {
    const { customer } = await newCustomer();
    const watcher = await startWatch(
      clients,
      { customerId: customer.id },
      { headers: { authorization: tokens.victor as string } },
    );
    await clients.inventory.deleteCustomer({ id: customer.id }, callOptions(as("alice")));
    await watcher.until((changes) => changes.length >= 1);
    expect(watcher.changes().map((x) => x.kind)).toEqual([ChangeKind.CUSTOMER_DELETED]);
    await watcher.stop();
  });

  it("refuses a tampered cursor (INVALID_ARGUMENT) and an expired one (OUT_OF_RANGE, CURSOR_EXPIRED)", async () => {
    const headers = { authorization: tokens.victor as string };
    const { customer } = await newCustomer();
    const [created] = await settledHistory(customer.id, 1);
    const cursor = created?.cursor as string;
    const tampered = `${cursor.slice(0, -2)}${cursor.endsWith("AA") ? "BB" : "AA"}`;
    for (const startAfter of [tampered, "garbage", "x".repeat(9000)]) {
      const err = await callError(() => startWatch(clients, { startAfter }, { headers }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.fieldViolations[0]?.field).toBe("start_after");
    }
    // A change after the cursor, then purge everything so far, as retention would after
    // CHANGE_RETENTION_DAYS: changes the cursor's watcher has not seen are gone.
    await newCustomer();
    const changes = createChangeStore({ db: server.database.db });
    while ((await changes.purge(new Date(Date.now() + 60_000), 1000)) > 0) {}
    const expired = await callError(() => startWatch(clients, { startAfter: cursor }, { headers }));
    expect(expired.code).toBe(Code.OutOfRange);
    expect(expired.reason).toBe("CURSOR_EXPIRED");
    expect(expired.fieldViolations[0]?.field).toBe("start_after");
    expect((await historyOf(customer.id)).length).toBe(0);
  });

  it("ends at the client's own deadline with DEADLINE_EXCEEDED", async () => {
    const headers = { authorization: tokens.victor as string };
    const { inventory } = server.clients("grpc");
    const started = Date.now();
    const err = await callError(async () => {
      for await (const _ of inventory.watchCustomerChanges({}, { headers, timeoutMs: 700 })) {
        // heartbeats every 300 ms until the deadline
      }
    });
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(Date.now() - started).toBeGreaterThanOrEqual(650);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("needs a token, and a viewer may watch but not write", async () => {
    const err = await callError(() => startWatch(clients, {}));
    expect(err.code).toBe(Code.Unauthenticated);
    const denied = await callError(() =>
      clients.inventory.createCustomer({ customer: { name: "viewer" } }, callOptions(as("victor"))),
    );
    expect(denied.code).toBe(Code.PermissionDenied);
  });
});
