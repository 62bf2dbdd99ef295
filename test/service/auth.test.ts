import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CustomerInventoryService } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { ServiceInstanceService } from "../../gen/customerinventory/v1/service_instance_service_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { createJwtAuthenticator } from "../../src/interceptors/auth.js";
import { callError, codeOf } from "../support/errors.js";
import { createTestIssuer } from "../support/jwt.js";
import { type Clients, startTestServer, type TestServer } from "../support/server.js";

// Bearer tokens: every RPC x role, bad tokens, and saved filters private to their owner.

const idp = createTestIssuer("a-test-secret-of-at-least-32-chars!!");
const { issuer, audience } = idp;
const token = idp.sign;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    authenticator: createJwtAuthenticator({ key: idp.key, issuer, audience }),
  });
});
afterAll(() => server.close());

const as = (authorization: string | undefined) => ({
  headers: authorization ? { authorization } : {},
});
const bearer = async (sub: string, role?: string) =>
  `Bearer ${await token(role === undefined ? { sub } : { sub, role })}`;

const absent = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

/** Every RPC of the API, called with a request that passes validation. */
const rpcs: {
  name: string;
  write: boolean;
  call: (c: Clients, o: ReturnType<typeof as>) => Promise<unknown>;
}[] = [
  { name: "ListCustomers", write: false, call: (c, o) => c.inventory.listCustomers({}, o) },
  {
    name: "GetCustomer",
    write: false,
    call: (c, o) => c.inventory.getCustomer({ id: absent }, o),
  },
  {
    name: "CreateCustomer",
    write: true,
    call: (c, o) => c.inventory.createCustomer({ customer: { name: "x" }, validateOnly: true }, o),
  },
  {
    name: "UpdateCustomer",
    write: true,
    call: (c, o) =>
      c.inventory.updateCustomer(
        { customer: { id: absent, description: "d" }, updateMask: { paths: ["description"] } },
        o,
      ),
  },
  {
    name: "DeleteCustomer",
    write: true,
    call: (c, o) => c.inventory.deleteCustomer({ id: absent }, o),
  },
  {
    name: "ListServiceInstances",
    write: false,
    call: (c, o) => c.inventory.listServiceInstances({ customerId: absent }, o),
  },
  {
    name: "CreateSavedFilter",
    write: true,
    call: (c, o) => c.inventory.createSavedFilter({ savedFilter: { displayName: "" } }, o),
  },
  {
    name: "GetSavedFilter",
    write: false,
    call: (c, o) => c.inventory.getSavedFilter({ id: absent }, o),
  },
  { name: "ListSavedFilters", write: false, call: (c, o) => c.inventory.listSavedFilters({}, o) },
  {
    name: "UpdateSavedFilter",
    write: true,
    call: (c, o) =>
      c.inventory.updateSavedFilter(
        { savedFilter: { id: absent, displayName: "n" }, updateMask: { paths: ["display_name"] } },
        o,
      ),
  },
  {
    name: "DeleteSavedFilter",
    write: true,
    call: (c, o) => c.inventory.deleteSavedFilter({ id: absent }, o),
  },
  {
    name: "CreateServiceInstance",
    write: true,
    call: (c, o) =>
      c.instances.createServiceInstance(
        { serviceInstance: { customerId: absent, name: "vpn", serviceType: "VPN" } },
        o,
      ),
  },
  {
    name: "GetServiceInstance",
    write: false,
    call: (c, o) => c.instances.getServiceInstance({ id: absent }, o),
  },
  {
    name: "DeleteServiceInstance",
    write: true,
    call: (c, o) => c.instances.deleteServiceInstance({ id: absent }, o),
  },
  {
    name: "BatchGetCustomers",
    write: false,
    call: (c, o) => c.inventory.batchGetCustomers({ ids: [absent] }, o),
  },
  {
    name: "ImportCustomers",
    write: true,
    call: (c, o) =>
      c.inventory.importCustomers({ customers: [{ name: "x" }], validateOnly: true }, o),
  },
  {
    name: "ExportCustomers",
    write: false,
    call: async (c, o) => {
      // Cancelled by its signal, like the watch below.
      const abort = new AbortController();
      try {
        for await (const message of c.inventory.exportCustomers(
          {},
          { ...o, signal: abort.signal },
        )) {
          return message;
        }
      } finally {
        abort.abort();
      }
      return undefined;
    },
  },
  {
    name: "ListCustomerChanges",
    write: false,
    call: (c, o) => c.inventory.listCustomerChanges({ customerId: absent }, o),
  },
  {
    name: "WatchCustomerChanges",
    write: false,
    call: async (c, o) => {
      // Cancelled by its signal: breaking out of the loop alone leaves the stream open.
      const abort = new AbortController();
      try {
        for await (const message of c.inventory.watchCustomerChanges(
          {},
          { ...o, signal: abort.signal },
        )) {
          return message;
        }
      } finally {
        abort.abort();
      }
      return undefined;
    },
  },
];

describe("roles", () => {
  it("has a role rule for every RPC of both services", () => {
    // A new RPC without an entry here (and so without a checked role) fails this.
    const served = [CustomerInventoryService, ServiceInstanceService].flatMap((s) =>
      s.methods.map((m) => m.name),
    );
    expect(rpcs.map((r) => r.name).sort()).toEqual(served.sort());
  });

  it.each(rpcs)(
    "$name: viewer reads, editor and admin also write; nobody is refused a read",
    async ({ call, write }) => {
      const clients = server.clients("connect-json");
      for (const role of ["viewer", "editor", "admin"]) {
        const code = await codeOf(() => call(clients, as(undefined)));
        expect(code, "no token").toBe(Code.Unauthenticated);
        const withRole = await codeOf(async () =>
          call(clients, as(await bearer(`u-${role}`, role))),
        );
        if (role === "viewer" && write) expect(withRole, role).toBe(Code.PermissionDenied);
        else expect([0, Code.NotFound, Code.InvalidArgument], role).toContain(withRole);
      }
    },
  );

  it("decides PERMISSION_DENIED before looking anything up, with the roles in ErrorInfo", async () => {
    const { inventory } = server.clients("grpc");
    const err = await callError(async () =>
      inventory.deleteCustomer({ id: absent }, as(await bearer("v", "viewer"))),
    );
    expect(err).toMatchObject({
      code: Code.PermissionDenied,
      reason: "ROLE_INSUFFICIENT",
      metadata: { role: "viewer", required_role: "editor" },
    });
  });
});

describe("bad tokens", () => {
  const cases: [string, () => Promise<string | undefined>, string][] = [
    ["missing", async () => undefined, "TOKEN_MISSING"],
    ["not a bearer token", async () => "Basic dXNlcjpwYXNz", "TOKEN_MISSING"],
    ["not a JWT", async () => "Bearer not-a-jwt", "TOKEN_MISSING"],
    [
      "expired",
      async () => `Bearer ${await token({ sub: "u", role: "admin" }, { expiresIn: "-1m" })}`,
      "TOKEN_EXPIRED",
    ],
    [
      "for another audience",
      async () => `Bearer ${await token({ sub: "u", role: "admin" }, { aud: "billing" })}`,
      "TOKEN_INVALID",
    ],
    [
      "from another issuer",
      async () => `Bearer ${await token({ sub: "u", role: "admin" }, { iss: "https://evil" })}`,
      "TOKEN_INVALID",
    ],
    [
      "signed with another key",
      async () =>
        `Bearer ${await token(
          { sub: "u", role: "admin" },
          { key: new TextEncoder().encode("another-secret-of-at-least-32-chars!") },
        )}`,
      "TOKEN_INVALID",
    ],
    [
      "tampered (role raised after signing)",
      async () => {
        const [header, , signature] = (await token({ sub: "u", role: "viewer" })).split(".");
        const forged = Buffer.from(
          JSON.stringify({
            sub: "u",
            role: "admin",
            iss: issuer,
            aud: audience,
            exp: Math.floor(Date.now() / 1000) + 300,
          }),
        ).toString("base64url");
        return `Bearer ${header}.${forged}.${signature}`;
      },
      "TOKEN_INVALID",
    ],
    [
      "unsigned (alg none)",
      async () => {
        const header = Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url");
        const body = Buffer.from(
          JSON.stringify({ sub: "u", role: "admin", iss: issuer, aud: audience, exp: 9e9 }),
        ).toString("base64url");
        return `Bearer ${header}.${body}.x`;
      },
      "TOKEN_INVALID",
    ],
  ];

  it.each(cases)("%s: UNAUTHENTICATED over every protocol", async (_, authorization, reason) => {
    const header = await authorization();
    for (const kind of ["connect-json", "grpc", "grpc-web"] as const) {
      const err = await callError(() =>
        server.clients(kind).inventory.listCustomers({}, as(header)),
      );
      expect(err.code, kind).toBe(Code.Unauthenticated);
      expect(err.reason, kind).toBe(reason);
    }
  });

  it("a valid token without a known role: PERMISSION_DENIED", async () => {
    for (const role of [undefined, "superuser"]) {
      const err = await callError(async () =>
        server.clients().inventory.listCustomers({}, as(await bearer("u", role))),
      );
      expect(err).toMatchObject({ code: Code.PermissionDenied, reason: "ROLE_MISSING" });
    }
  });

  it("leaves health checking open", async () => {
    const health = createClient(Health, server.transport("grpc"));
    expect((await health.check({ service: "" })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
  });
});

describe("saved filters belong to their creator", () => {
  it("hides a private filter from other users (NOT_FOUND everywhere), not from admins", async () => {
    const { inventory } = server.clients();
    const alice = as(await bearer("alice", "editor"));
    const bob = as(await bearer("bob", "editor"));
    const carol = as(await bearer("carol", "viewer"));
    const admin = as(await bearer("root", "admin"));
    const { savedFilter: mine } = await inventory.createSavedFilter(
      { savedFilter: { displayName: "Alice's VPN customers", filter: 'name:"vpn"' } },
      alice,
    );
    expect(mine?.owner).toBe("alice");
    const id = mine?.id as string;

    for (const other of [bob, carol]) {
      expect((await callError(() => inventory.getSavedFilter({ id }, other))).code).toBe(
        Code.NotFound,
      );
      expect(
        (await callError(() => inventory.listCustomers({ savedFilterId: id }, other))).code,
      ).toBe(Code.NotFound);
      const listed = await inventory.listSavedFilters({}, other);
      expect(listed.savedFilters.map((f) => f.id)).not.toContain(id);
    }
    const update = (who: ReturnType<typeof as>) =>
      inventory.updateSavedFilter(
        { savedFilter: { id, displayName: "taken over" }, updateMask: { paths: ["display_name"] } },
        who,
      );
    expect((await callError(() => update(bob))).code).toBe(Code.NotFound);
    expect((await callError(() => inventory.deleteSavedFilter({ id }, bob))).code).toBe(
      Code.NotFound,
    );
    // A viewer may not change filters at all: refused before the lookup.
    expect((await callError(() => inventory.deleteSavedFilter({ id }, carol))).code).toBe(
      Code.PermissionDenied,
    );
    expect((await inventory.getSavedFilter({ id }, alice)).savedFilter?.displayName).toBe(
      "Alice's VPN customers",
    );

    expect((await inventory.getSavedFilter({ id }, admin)).savedFilter?.owner).toBe("alice");
    expect((await update(admin)).savedFilter?.displayName).toBe("taken over");
    await inventory.deleteSavedFilter({ id }, admin);
    expect((await callError(() => inventory.getSavedFilter({ id }, alice))).code).toBe(
      Code.NotFound,
    );
  });

  it("shows a shared filter to everyone and lets only its owner change it", async () => {
    const { inventory } = server.clients();
    const alice = as(await bearer("alice2", "editor"));
    const bob = as(await bearer("bob2", "editor"));
    const carol = as(await bearer("carol2", "viewer"));
    const { savedFilter } = await inventory.createSavedFilter(
      { savedFilter: { displayName: "Team view", search: "acme", shared: true } },
      alice,
    );
    const id = savedFilter?.id as string;
    expect((await inventory.getSavedFilter({ id }, carol)).savedFilter?.shared).toBe(true);
    const { customer: acme } = await inventory.createCustomer(
      { customer: { name: "Acme Shared View" } },
      alice,
    );
    await inventory.createCustomer({ customer: { name: "Not In View" } }, alice);
    // Carol's list through Alice's filter applies its search.
    const viewed = await inventory.listCustomers({ savedFilterId: id }, carol);
    expect(viewed.customers.map((c) => c.id)).toContain(acme?.id);
    expect(viewed.customers.every((c) => c.name.toLowerCase().includes("acme"))).toBe(true);
    expect((await callError(() => inventory.deleteSavedFilter({ id }, bob))).code).toBe(
      Code.PermissionDenied,
    );
    await inventory.deleteSavedFilter({ id }, alice);
  });
});
