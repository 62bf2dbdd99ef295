import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Customer } from "../../gen/customerinventory/v1/resources_pb.js";
import { callError } from "../support/errors.js";
import { type Clients, startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
let api: Clients;
beforeAll(async () => {
  server = await startTestServer();
  api = server.clients("connect-json");
});
afterAll(() => server.close());
beforeEach(async () => {
  await server.database.db.execute("truncate customers, service_instances, saved_filters cascade");
});

async function create(name: string, referenceNumber = "", description = ""): Promise<Customer> {
  const { customer } = await api.inventory.createCustomer({
    customer: { name, referenceNumber, description },
  });
  return customer as Customer;
}

/** Every page of a query, with the page sizes given in turn (repeating the last). */
async function walk(
  query: { search?: string; orderBy?: string; savedFilterId?: string },
  sizes = [2],
) {
  const pages: Customer[][] = [];
  let pageToken = "";
  do {
    const res = await api.inventory.listCustomers({
      ...query,
      pageSize: sizes[Math.min(pages.length, sizes.length - 1)] ?? 2,
      pageToken,
    });
    pages.push(res.customers);
    pageToken = res.nextPageToken;
    if (pages.length > 100) throw new Error("the walk does not end");
  } while (pageToken);
  return pages;
}

const names = (customers: Customer[]) => customers.map((c) => c.name);

describe("ListCustomers paging", () => {
  it("sorts by normalized name in code-point order by default and counts every match", async () => {
    for (const n of ["beta", "Zed", "ábc", "Alpha", "alpha 2"]) await create(n);
    const res = await api.inventory.listCustomers({});
    expect(names(res.customers)).toEqual(["Alpha", "alpha 2", "beta", "Zed", "ábc"]);
    expect(res.totalSize).toBe(5);
    expect(res.nextPageToken).toBe("");
  });

  it("returns each row exactly once across pages of changing size", async () => {
    const created = [];
    for (let i = 0; i < 11; i++) created.push(await create(`c-${String(i).padStart(2, "0")}`));
    const pages = await walk({}, [3, 1, 4]);
    expect(pages.flat().map((c) => c.id)).toEqual(created.map((c) => c.id));
    expect(pages.map((p) => p.length)).toEqual([3, 1, 4, 3]);
  });

  it("gives a token on a full last page and an empty page after it", async () => {
    for (const n of ["a", "b"]) await create(n);
    const first = await api.inventory.listCustomers({ pageSize: 2 });
    expect(first.customers).toHaveLength(2);
    expect(first.nextPageToken).toBe("");
    const one = await api.inventory.listCustomers({ pageSize: 1 });
    const rest = await api.inventory.listCustomers({ pageSize: 1, pageToken: one.nextPageToken });
    expect(names(rest.customers)).toEqual(["b"]);
    expect(rest.nextPageToken).toBe("");
  });

  it("uses 50 for page_size 0, coerces above 1000 and rejects a negative size", async () => {
    await server.database.db.execute(`
      insert into customers (id, name, name_key, search_text, etag)
      select '01' || lpad(i::text, 24, '0'), 'bulk-' || lpad(i::text, 5, '0'),
             'bulk-' || lpad(i::text, 5, '0'), 'bulk', 'e'
      from generate_series(1, 1005) as i`);
    expect((await api.inventory.listCustomers({})).customers).toHaveLength(50);
    const max = await api.inventory.listCustomers({ pageSize: 2_147_483_647 });
    expect(max.customers).toHaveLength(1000);
    expect(max.totalSize).toBe(1005);
    const err = await callError(() => api.inventory.listCustomers({ pageSize: -1 }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.fieldViolations.map((v) => v.field)).toEqual(["page_size"]);
  });

  it("never skips or repeats a row when others are inserted and deleted mid-walk", async () => {
    const kept: Customer[] = [];
    for (let i = 0; i < 10; i++) kept.push(await create(`k-${i}`));
    const seen: string[] = [];
    let pageToken = "";
    let round = 0;
    do {
      const res = await api.inventory.listCustomers({ pageSize: 3, pageToken });
      seen.push(...res.customers.map((c) => c.name).filter((n) => n.startsWith("k-")));
      pageToken = res.nextPageToken;
      // Rows before and after the cursor come and go.
      await create(`a-new-${round}`);
      await create(`z-new-${round}`);
      const victim = await create(`k-${round}-temp`);
      await api.inventory.deleteCustomer({ id: victim.id });
      round++;
    } while (pageToken);
    expect(seen).toEqual(kept.map((c) => c.name));
  });
});

describe("ListCustomers page tokens", () => {
  async function firstToken(query: { search?: string; orderBy?: string } = {}) {
    for (const n of ["a1", "a2", "a3"]) await create(n);
    const res = await api.inventory.listCustomers({ ...query, pageSize: 1 });
    expect(res.nextPageToken).not.toBe("");
    return res.nextPageToken;
  }

  it.each([
    ["a different search", { search: "a" }],
    ["a different order_by", { orderBy: "name desc" }],
    ["a saved filter", { savedFilterId: "" }],
  ])("rejects a token reused with %s", async (_, query) => {
    const pageToken = await firstToken();
    if ("savedFilterId" in query) {
      const { savedFilter } = await api.inventory.createSavedFilter({
        savedFilter: { displayName: "all" },
      });
      query.savedFilterId = savedFilter?.id ?? "";
    }
    const err = await callError(() => api.inventory.listCustomers({ ...query, pageToken }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.reason).toBe("INVALID_PAGE_TOKEN");
    expect(err.fieldViolations.map((v) => v.field)).toEqual(["page_token"]);
  });

  it("rejects garbage, tampered and oversized tokens", async () => {
    const token = await firstToken();
    const [body = "", mac = ""] = token.split(".");
    const payload = JSON.parse(Buffer.from(body, "base64url").toString()) as { c: unknown[] };
    payload.c = ["a", "01ARZ3NDEKTSV4RRFFQ69G5FAV"];
    const forged = `${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${mac}`;
    for (const pageToken of ["garbage", forged, `${token}x`, "x".repeat(100_000)]) {
      const err = await callError(() => api.inventory.listCustomers({ pageToken }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.reason).toBe("INVALID_PAGE_TOKEN");
    }
  });

  it("rejects a token from another RPC", async () => {
    const customer = await create("owner");
    for (const n of ["i1", "i2"]) {
      await api.instances.createServiceInstance({
        serviceInstance: { customerId: customer.id, name: n, serviceType: "L3VPN" },
      });
    }
    const { nextPageToken } = await api.inventory.listServiceInstances({
      customerId: customer.id,
      pageSize: 1,
    });
    const err = await callError(() => api.inventory.listCustomers({ pageToken: nextPageToken }));
    expect(err.reason).toBe("INVALID_PAGE_TOKEN");
  });
});

describe("ListCustomers search", () => {
  beforeEach(async () => {
    await create("Acme Networks", "CRM-100", "Tier 1 provider in Zürich");
    await create("Globex", "crm-200", "50% owned by Acme");
    await create("Initech", "", "under_score and back\\slash");
  });

  const search = async (text: string) =>
    names((await api.inventory.listCustomers({ search: text })).customers);

  it("matches every term case-insensitively in name, reference number or description", async () => {
    expect(await search("acme")).toEqual(["Acme Networks", "Globex"]);
    expect(await search("  ACME   tier ")).toEqual(["Acme Networks"]);
    expect(await search("crm-2")).toEqual(["Globex"]);
    expect(await search("zÜRICH")).toEqual(["Acme Networks"]);
    expect(await search("acme nothing")).toEqual([]);
  });

  it("matches the id too", async () => {
    const [initech] = (await api.inventory.listCustomers({ search: "initech" })).customers;
    expect(await search(initech?.id.slice(-8).toLowerCase() ?? "")).toEqual(["Initech"]);
  });

  it("treats %, _, * and backslash literally", async () => {
    expect(await search("50%")).toEqual(["Globex"]);
    expect(await search("%")).toEqual(["Globex"]);
    expect(await search("_")).toEqual(["Initech"]);
    expect(await search("back\\slash")).toEqual(["Initech"]);
    expect(await search("*")).toEqual([]);
  });

  it("still counts the matches on a page emptied by a delete", async () => {
    const one = await api.inventory.listCustomers({ search: "acme", pageSize: 1 });
    const rest = await api.inventory.listCustomers({
      search: "acme",
      pageToken: one.nextPageToken,
      pageSize: 1,
    });
    await api.inventory.deleteCustomer({ id: rest.customers[0]?.id ?? "" });
    const emptied = await api.inventory.listCustomers({
      search: "acme",
      pageToken: one.nextPageToken,
      pageSize: 1,
    });
    expect(emptied.customers).toEqual([]);
    expect(emptied.totalSize).toBe(1);
  });

  it("counts only matching rows in total_size", async () => {
    expect((await api.inventory.listCustomers({ search: "acme", pageSize: 1 })).totalSize).toBe(2);
  });

  it("rejects a NUL and more than 200 characters", async () => {
    for (const text of ["a\u0000", "a".repeat(201)]) {
      const err = await callError(() => api.inventory.listCustomers({ search: text }));
      expect(err.fieldViolations.map((v) => v.field)).toEqual(["search"]);
    }
  });
});

describe("ListCustomers limits", () => {
  it("reports every length limit the same way, the filter's with its position", async () => {
    const cases = [
      [{ search: "s".repeat(201) }, "search", "must be at most 200 characters (got 201)"],
      [
        { orderBy: `name${" ".repeat(300)}` },
        "order_by",
        "must be at most 200 characters (got 304)",
      ],
      [{ pageToken: "t".repeat(4097) }, "page_token", "must be at most 4096 characters (got 4097)"],
      [
        { filter: `name = "${"x".repeat(2100)}"` },
        "filter",
        "must be at most 2000 characters (got 2109) at 2001",
      ],
    ] as const;
    for (const [request, field, description] of cases) {
      const err = await callError(() => api.inventory.listCustomers(request));
      expect(err.fieldViolations, field).toEqual([{ field, description }]);
    }
  });
});

describe("ListCustomers order_by", () => {
  beforeEach(async () => {
    const b = await create("Bravo", "R-2");
    await create("alpha", "");
    const c = await create("Charlie", "r-1");
    await create("Delta", "");
    for (const n of ["x", "y"]) {
      await api.instances.createServiceInstance({
        serviceInstance: { customerId: c.id, name: n, serviceType: "L3VPN" },
      });
    }
    await api.instances.createServiceInstance({
      serviceInstance: { customerId: b.id, name: "z", serviceType: "L3VPN" },
    });
  });

  it.each([
    ["name desc", ["Delta", "Charlie", "Bravo", "alpha"]],
    ["reference_number", ["Charlie", "Bravo", "alpha", "Delta"]],
    ["reference_number desc", ["alpha", "Delta", "Bravo", "Charlie"]],
    ["service_instance_count desc, name", ["Charlie", "Bravo", "alpha", "Delta"]],
    ["create_time desc", ["Delta", "Charlie", "alpha", "Bravo"]],
    [" create_time ,  id desc ", ["Bravo", "alpha", "Charlie", "Delta"]],
  ])("orders by %s, the same on one page and across pages of one", async (orderBy, expected) => {
    const [onePage] = await walk({ orderBy }, [10]);
    expect(names(onePage ?? [])).toEqual(expected);
    expect(names((await walk({ orderBy }, [1])).flat())).toEqual(expected);
  });

  it("breaks ties by id", async () => {
    const all = (await walk({ orderBy: "service_instance_count" }, [1])).flat();
    const zeros = all.filter((c) => c.serviceInstanceCount === 0).map((c) => c.id);
    expect(zeros).toEqual([...zeros].sort());
  });

  it.each(["nmae", "name sideways", "name,", "name, name", "name; drop table customers"])(
    "rejects order_by %j",
    async (orderBy) => {
      const err = await callError(() => api.inventory.listCustomers({ orderBy }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.fieldViolations.map((v) => v.field)).toEqual(["order_by"]);
    },
  );
});

describe("ListCustomers with a saved filter", () => {
  it("applies its search and order_by where the request leaves them empty", async () => {
    for (const n of ["Acme East", "Acme West", "Globex"]) await create(n);
    const { savedFilter } = await api.inventory.createSavedFilter({
      savedFilter: { displayName: "Acme, newest name first", search: "acme", orderBy: "name desc" },
    });
    const id = savedFilter?.id ?? "";
    const walked = await walk({ savedFilterId: id }, [1]);
    expect(names(walked.flat())).toEqual(["Acme West", "Acme East"]);
    const overridden = await api.inventory.listCustomers({ savedFilterId: id, search: "globex" });
    expect(names(overridden.customers)).toEqual(["Globex"]);
    const err = await callError(() =>
      api.inventory.listCustomers({ savedFilterId: "01ARZ3NDEKTSV4RRFFQ69G5FAV" }),
    );
    expect(err.code).toBe(Code.NotFound);
  });
});

describe("ListCustomers filter", () => {
  it("applies a filter together with search", async () => {
    await create("Acme East", "CRM-1", "fiber");
    await create("Acme West", "", "fiber");
    await create("Globex", "CRM-2", "copper");
    const res = await api.inventory.listCustomers({
      filter: 'reference_number != "" AND description : "FIB"',
      search: "acme",
    });
    expect(names(res.customers)).toEqual(["Acme East"]);
    expect(res.totalSize).toBe(1);
  });

  it("refuses a bad filter with a BadRequest violation naming the position", async () => {
    const err = await callError(() => api.inventory.listCustomers({ filter: 'nmae = "x"' }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.fieldViolations).toEqual([
      { field: "filter", description: 'unknown field "nmae" at 1, did you mean "name"?' },
    ]);
    expect(err.message).toContain('unknown field "nmae" at 1');
  });

  it("ANDs a saved filter's filter with the request's, and binds tokens to both", async () => {
    for (const n of ["Acme 1", "Acme 2", "Acme 3", "Globex 1"]) await create(n);
    const { savedFilter } = await api.inventory.createSavedFilter({
      savedFilter: { displayName: "Acme", filter: 'name = "acme*"' },
    });
    const savedFilterId = savedFilter?.id ?? "";
    const res = await api.inventory.listCustomers({
      savedFilterId,
      filter: '-name = "acme 3"',
      pageSize: 1,
    });
    expect(names(res.customers)).toEqual(["Acme 1"]);
    expect(res.totalSize).toBe(2);
    const next = await api.inventory.listCustomers({
      savedFilterId,
      filter: '-name = "acme 3"',
      pageSize: 1,
      pageToken: res.nextPageToken,
    });
    expect(names(next.customers)).toEqual(["Acme 2"]);
    const err = await callError(() =>
      api.inventory.listCustomers({ savedFilterId, pageToken: res.nextPageToken }),
    );
    expect(err.reason).toBe("INVALID_PAGE_TOKEN");
  });

  it("invalidates a saved filter's tokens when its order_by changes mid-walk", async () => {
    for (const n of ["a", "b", "c"]) await create(n);
    const { savedFilter } = await api.inventory.createSavedFilter({
      savedFilter: { displayName: "by name", orderBy: "name" },
    });
    const savedFilterId = savedFilter?.id ?? "";
    const first = await api.inventory.listCustomers({ savedFilterId, pageSize: 1 });
    await api.inventory.updateSavedFilter({
      savedFilter: { id: savedFilterId, orderBy: "create_time desc" },
      updateMask: { paths: ["order_by"] },
    });
    const err = await callError(() =>
      api.inventory.listCustomers({ savedFilterId, pageSize: 1, pageToken: first.nextPageToken }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.reason).toBe("INVALID_PAGE_TOKEN");
  });
});
