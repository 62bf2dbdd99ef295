import { timestampDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Customer } from "../../gen/customerinventory/v1/resources_pb.js";
import type { FieldViolation } from "../../src/errors.js";
import { parseFilter } from "../../src/filter/filter.js";
import { parseOrderByOrThrow } from "../../src/filter/order-by.js";
import { matches, sortCustomers } from "../support/customer-oracle.js";
import { type Clients, startTestServer, type TestServer } from "../support/server.js";

// Every filter, search and order of the contract, run by real PostgreSQL through a real
// client, checked against a plain JavaScript reading of the contract (customer-oracle.ts).

let server: TestServer;
let api: Clients;
let all: Customer[] = [];

const rows: [name: string, reference: string, description: string, instances: number][] = [
  ["Acme Networks", "CRM-100", "Tier 1 provider in Zürich", 3],
  ["acme west", "crm-101", "fiber\nand copper", 1],
  ["Globex", "CRM-2", "50% owned by Acme", 0],
  ["Initech", "", "under_score and back\\slash", 2],
  ["CAFÉ Telecom", "ref-é", 'says "hi" and it\'s *fine*', 0],
  ["Straße Netz", "", "", 1],
  ["Umbrella", "U-9", "EVPN-ELAN", 4],
  ["Zeta", "z", "z", 0],
  ["zz top", "ZZ", "last * star", 1],
  ["Ünïcode", "", "emoji 😀 inside", 0],
  ["123 Numbers", "123", "digits 123", 2],
  ["Hyphen-Name", "a-b", "-leading dash", 0],
];

beforeAll(async () => {
  server = await startTestServer();
  api = server.clients("connect-binary");
  for (const [name, referenceNumber, description, instances] of rows) {
    const { customer } = await api.inventory.createCustomer({
      customer: { name, referenceNumber, description },
    });
    for (let i = 0; i < instances; i++) {
      await api.instances.createServiceInstance({
        serviceInstance: { customerId: customer?.id, name: `si-${i}`, serviceType: "L3VPN" },
      });
    }
  }
  // Later update times for a few.
  const listed = await api.inventory.listCustomers({ pageSize: 100 });
  for (const c of listed.customers.slice(0, 4)) {
    await api.inventory.updateCustomer({
      customer: { id: c.id, description: `${c.description} (updated)` },
      updateMask: { paths: ["description"] },
    });
  }
  all = (await api.inventory.listCustomers({ pageSize: 100 })).customers;
  expect(all).toHaveLength(rows.length);
}, 60_000);
afterAll(() => server.close());

/** The ids a filter returns through the API, in id order, and its total_size. */
async function run(filter: string) {
  const res = await api.inventory.listCustomers({ filter, orderBy: "id", pageSize: 1000 });
  return { ids: res.customers.map((c) => c.id), total: res.totalSize };
}

function expected(filter: string): string[] {
  const violations: FieldViolation[] = [];
  const parsed = parseFilter(filter, "filter", violations);
  if (!parsed) throw new Error(`test filter does not parse: ${violations[0]?.description}`);
  const expr = parsed.expr;
  return all
    .filter((c) => !expr || matches(c, expr))
    .map((c) => c.id)
    .sort();
}

async function check(filters: string[]) {
  let nonTrivial = 0;
  for (const filter of filters) {
    const want = expected(filter);
    if (want.length > 0 && want.length < all.length) nonTrivial++;
    const got = await run(filter);
    expect(got.ids, filter).toEqual(want);
    expect(got.total, filter).toBe(want.length);
  }
  // The cases must split the data, not return all or nothing every time.
  expect(nonTrivial).toBeGreaterThan(filters.length / 3);
}

const quote = (s: string) => `"${s.replace(/[\\"*]/g, (c) => `\\${c}`)}"`;
const flipCase = (s: string) =>
  Array.from(s)
    .map((ch, i) => (i % 2 ? ch.toUpperCase() : ch.toLowerCase()))
    .join("");
const ops = ["=", "!=", "<", "<=", ">", ">="];
const pivots = () => [all[1], all[4], all[9]] as Customer[];

describe("filter on text fields, every comparator, against real PostgreSQL", () => {
  const value = (c: Customer, field: string) =>
    field === "id"
      ? c.id
      : field === "name"
        ? c.name
        : field === "reference_number"
          ? c.referenceNumber
          : c.description;

  it.each(["id", "name", "reference_number", "description"])("%s", async (field) => {
    const filters = [
      `${field} = "*"`,
      `${field} != "*"`,
      `${field} = ""`,
      `${field} != ""`,
      `${field} : "*"`,
    ];
    for (const c of pivots()) {
      const v = flipCase(value(c, field));
      const chars = Array.from(v);
      const mid = chars.slice(1, 4).join("");
      for (const op of ops) filters.push(`${field} ${op} ${quote(v)}`);
      filters.push(
        `${field} : ${quote(mid)}`,
        `${field} = ${quote(chars.slice(0, 3).join("")).slice(0, -1)}*"`,
        `${field} = "*${quote(chars.slice(-3).join("")).slice(1)}`,
        `${field} = "*${quote(mid).slice(1, -1)}*"`,
        `${field} != ${quote(chars.slice(0, 2).join("")).slice(0, -1)}*"`,
      );
    }
    await check(filters);
  });

  it("matches LIKE metacharacters, quotes and stars literally", async () => {
    for (const [filter, names] of [
      ['description : "50%"', ["Globex"]],
      ['description : "_"', ["Initech"]],
      ['description : "\\\\"', ["Initech"]],
      ['description : "\\"hi\\""', ["CAFÉ Telecom"]],
      ['description = "*\\**"', ["CAFÉ Telecom", "zz top"]],
      ["description : '\\*fine\\*'", ["CAFÉ Telecom"]],
      // A lone escaped star is a star, not "has a value".
      ['description : "\\*"', ["CAFÉ Telecom", "zz top"]],
      ['description = "\\*"', []],
      ['name = "straße netz"', ["Straße Netz"]],
      ['description = "fiber\nand copper*"', ["acme west"]],
    ] as const) {
      const got = await run(filter);
      const byId = new Map(all.map((c) => [c.id, c.name]));
      expect(got.ids.map((id) => byId.get(id)).sort(), filter).toEqual([...names].sort());
    }
  });
});

describe("filter on numbers and timestamps", () => {
  it("service_instance_count", async () => {
    const filters = [];
    for (const n of [0, 1, 2, 4])
      for (const op of ops) filters.push(`service_instance_count ${op} ${n}`);
    await check(filters);
  });

  it.each(["create_time", "update_time"])(
    "%s at microsecond precision, in any offset",
    async (field) => {
      const filters = [];
      for (const c of [all[0], all[5], all[11]] as Customer[]) {
        const t = timestampDate(
          (field === "create_time" ? c.createTime : c.updateTime) as NonNullable<
            Customer["createTime"]
          >,
        );
        const iso = t.toISOString(); // 2024-01-31T09:30:00.123Z
        const plusHalf = iso.replace("Z", "500Z"); // 0.5 ms later
        const shifted = new Date(t.getTime() + 5.5 * 3600_000)
          .toISOString()
          .replace("Z", "000+05:30");
        for (const v of [iso, plusHalf, shifted]) {
          for (const op of ops) filters.push(`${field} ${op} "${v}"`);
        }
      }
      await check(filters);
    },
  );
});

describe("search terms and composed filters", () => {
  it("bare values and search both require every term", async () => {
    await check(["acme", "acme zürich", "ACME -zürich", '"and copper"', "123", "é"]);
    const res = await api.inventory.listCustomers({ search: "acme", filter: "fiber OR zürich" });
    expect(res.customers.map((c) => c.name).sort()).toEqual(["Acme Networks", "acme west"]);
  });

  it("AND, OR, NOT, -, parentheses and juxtaposition, 80 random combinations", async () => {
    const atoms = [
      'name = "a*"',
      'reference_number = ""',
      "service_instance_count > 0",
      "service_instance_count <= 1",
      'description : "e"',
      "acme",
      'id < "01"',
      `create_time > "${timestampDate(all[6]?.createTime as NonNullable<Customer["createTime"]>).toISOString()}"`,
      'name > "m"',
      'reference_number : "-"',
    ];
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const build = (depth: number): string => {
      const atom = atoms[random(atoms.length)] as string;
      if (depth === 0) return atom;
      switch (random(6)) {
        case 0:
          return `${build(depth - 1)} AND ${build(depth - 1)}`;
        case 1:
          return `${build(depth - 1)} OR ${build(depth - 1)}`;
        case 2:
          return `NOT ${atom}`;
        case 3:
          return `-(${build(depth - 1)})`;
        case 4:
          return `(${build(depth - 1)}) ${build(depth - 1)}`;
        default:
          return `(${build(depth - 1)} OR ${build(depth - 1)}) AND ${atom}`;
      }
    };
    const filters = Array.from({ length: 80 }, () => build(3));
    await check(filters);
  });
});

describe("order_by: every order walks every row exactly once", () => {
  const orders = [
    "name",
    "name desc",
    "id",
    "id desc",
    "reference_number",
    "reference_number desc",
    "create_time",
    "create_time desc",
    "update_time",
    "update_time desc",
    "service_instance_count",
    "service_instance_count desc",
    "service_instance_count desc, reference_number",
    "reference_number desc, create_time desc",
    "update_time desc, service_instance_count",
  ];

  it.each(orders)("%s", async (orderBy) => {
    for (const filter of ["", "-acme", "e", 'description : "a" OR service_instance_count > 1']) {
      const seen: string[] = [];
      let pageToken = "";
      let pages = 0;
      do {
        const res = await api.inventory.listCustomers({ orderBy, filter, pageSize: 3, pageToken });
        seen.push(...res.customers.map((c) => c.id));
        pageToken = res.nextPageToken;
        if (++pages > 50) throw new Error("walk does not end");
      } while (pageToken);
      const matching = new Set(expected(filter));
      const want = sortCustomers(
        all.filter((c) => matching.has(c.id)),
        parseOrderByOrThrow(orderBy, "order_by"),
      ).map((c) => c.id);
      expect(seen, `${orderBy} / ${filter}`).toEqual(want);
    }
  });
});

describe("walks under change", () => {
  it.each(["service_instance_count desc", "reference_number desc", "create_time desc"])(
    "%s: rows inserted and deleted mid-walk cause no skips or repeats of the others",
    async (orderBy) => {
      const seen: string[] = [];
      const temporary: string[] = [];
      let pageToken = "";
      let round = 0;
      do {
        const res = await api.inventory.listCustomers({ orderBy, pageSize: 2, pageToken });
        seen.push(...res.customers.map((c) => c.id));
        pageToken = res.nextPageToken;
        round++;
        // New rows land before and after the cursor; one of them goes again at once.
        // Only in the first rounds: rows added after the cursor each round would keep the
        // walk going forever.
        if (round > 4) continue;
        for (const [i, reference] of ["", `mid-${round}`, "zzz"].entries()) {
          const { customer } = await api.inventory.createCustomer({
            customer: {
              name: `walk-${orderBy}-${round}-${i}`,
              referenceNumber: reference && `${reference}-${orderBy}`,
            },
          });
          temporary.push(customer?.id ?? "");
        }
        await api.inventory.deleteCustomer({ id: temporary.pop() ?? "" });
      } while (pageToken);
      const original = new Set(all.map((c) => c.id));
      const walkedOriginals = seen.filter((id) => original.has(id));
      expect(walkedOriginals).toEqual(
        sortCustomers(all, parseOrderByOrThrow(orderBy, "order_by")).map((c) => c.id),
      );
      expect(new Set(seen).size).toBe(seen.length);
      for (const id of temporary) await api.inventory.deleteCustomer({ id });
    },
  );

  it("binds a token to its filter", async () => {
    const first = await api.inventory.listCustomers({ filter: "acme", pageSize: 1 });
    expect(first.nextPageToken).not.toBe("");
    const next = await api.inventory.listCustomers({
      filter: "acme",
      pageSize: 1,
      pageToken: first.nextPageToken,
    });
    expect(next.customers).toHaveLength(1);
    await expect(
      api.inventory.listCustomers({ filter: "globex", pageToken: first.nextPageToken }),
    ).rejects.toThrow(/page_token/);
  });
});

describe("plans", () => {
  it("plans searches and filters for their values; only GetCustomer keeps a prepared statement", async () => {
    // A generic plan of `search_text like $1` would be one plan for rare and common terms
    // alike: list statements must go unnamed (planned with their values every time). The
    // pool has one connection, so pg_prepared_statements shows all that it prepared.
    const single = await startTestServer({ poolSize: 1 });
    try {
      const api = single.clients("grpc");
      const { customer } = await api.inventory.createCustomer({ customer: { name: "Acme Plans" } });
      for (let i = 0; i < 8; i++) {
        await api.inventory.listCustomers({ search: i % 2 ? "acme" : "zzzz", pageSize: 5 });
        await api.inventory.listCustomers({ filter: 'name:"plan"', orderBy: "name desc" });
        await api.inventory.getCustomer({ id: customer?.id ?? "" });
      }
      const statements = await single.database.db.execute<{ statement: string }>(
        "select statement from pg_prepared_statements",
      );
      const texts = statements.map((s) => s.statement);
      expect(texts.some((t) => t.includes("search_text"))).toBe(false);
      expect(
        texts.filter((t) => /from "customers" where "customers"."id" = \$1/.test(t)),
      ).toHaveLength(1);
    } finally {
      await single.close();
    }
  });
});
