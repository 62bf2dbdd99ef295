import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FieldViolation } from "../../src/errors.js";
import { parseFilter } from "../../src/filter/filter.js";
import { parseOrderByOrThrow } from "../../src/filter/order-by.js";
import type { ListCustomersQuery } from "../../src/store/customers.js";
import { clientOptions } from "../../src/store/db.js";
import { createStore, type Store } from "../../src/store/index.js";
import * as schema from "../../src/store/schema.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { loadCustomers } from "../support/synthetic-customers.js";

// The plans PostgreSQL picks for the statements ListCustomers runs, on 20,000 customers:
// no query may scan the whole table where an index serves, whatever the term or the order.

let database: TestDatabase;
let client: postgres.Sql;
let store: Store;
let captured: { sql: string; params: unknown[] }[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const loader = postgres(database.url, { max: 1, onnotice: () => {} });
  await loadCustomers(loader, 20_000);
  await loader.end();
  client = postgres(
    database.url,
    clientOptions({ poolSize: 4, statementTimeoutMs: 20_000, connectTimeoutSeconds: 10 }),
  );
  const db = drizzle(client, {
    schema,
    logger: { logQuery: (sql, params) => captured.push({ sql, params }) },
  });
  store = createStore({ db });
}, 120_000);
afterAll(async () => {
  await client.end();
  await database.drop();
});

const filterOf = (text: string) => {
  const violations: FieldViolation[] = [];
  const parsed = parseFilter(text, "filter", violations);
  if (!parsed) throw new Error(violations[0]?.description);
  return parsed.expr;
};

/** Runs a list and returns the plan of each statement it ran, as JSON text. */
async function plansOf(query: Partial<ListCustomersQuery> & { orderBy?: string }) {
  captured = [];
  const { orderBy = "", ...rest } = query;
  const page = await store.customers.list({
    filter: undefined,
    limit: 50,
    order: parseOrderByOrThrow(orderBy, "order_by"),
    ...rest,
  });
  const plans: string[] = [];
  for (const q of captured) {
    const [row] = await client.unsafe(
      `explain (format json) ${q.sql}`,
      q.params as postgres.ParameterOrJSON<never>[],
    );
    plans.push(JSON.stringify(row?.["QUERY PLAN"]));
  }
  return { plans, page };
}

/** The cursor 10,000 rows into an order, reached page by page. */
async function deepCursor(orderBy: string) {
  let after: ListCustomersQuery["after"];
  for (let i = 0; i < 10; i++) {
    const page = await store.customers.list({
      filter: undefined,
      limit: 1000,
      order: parseOrderByOrThrow(orderBy, "order_by"),
      after,
    });
    after = page.next;
  }
  return after;
}

const seqScanOfCustomers =
  /"Node Type":"Seq Scan","Parallel Aware":(true|false),"Async Capable":(true|false),"Relation Name":"customers"/;

describe("ListCustomers plans at 20,000 customers", () => {
  it("finds a rare and a common term through the trigram index", async () => {
    for (const search of ["zenithal", "logistics"]) {
      const { plans, page } = await plansOf({ filter: filterOf(search) });
      expect(page.totalSize).toBeGreaterThan(0);
      for (const plan of plans) {
        expect(plan).toContain("customers_search_text_trgm_idx");
        expect(plan).not.toMatch(seqScanOfCustomers);
      }
    }
  });

  it("counts all customers from the trigger-kept count, not the table", async () => {
    const { plans, page } = await plansOf({});
    expect(page.totalSize).toBe(20_000);
    expect(plans.some((p) => p.includes('"Relation Name":"customer_counts"'))).toBe(true);
    expect(plans.join()).not.toMatch(seqScanOfCustomers);
  });

  it.each([
    ["", /customers_name_key_unique/],
    ["name desc", /customers_name_key_unique/],
    // The rest of the cursor's tie group (count = 13, id > cursor) is one id range here,
    // because the synthetic ids follow the counts: the primary key serves it as well.
    ["service_instance_count desc", /customers_service_instance_count_desc_idx|customers_pkey/],
    ["service_instance_count", /customers_service_instance_count_asc_idx/],
    ["reference_number desc", /customers_reference_order_desc_idx/],
    ["reference_number", /customers_reference_order_asc_idx/],
    ["create_time desc", /customers_create_time_idx/],
    ["update_time", /customers_update_time_idx/],
  ])(
    "reads a deep page of order %j in its index, without sorting the table",
    async (orderBy, index) => {
      const after = await deepCursor(orderBy);
      expect(after).toBeDefined();
      const { plans, page } = await plansOf({ orderBy, after });
      expect(page.items).toHaveLength(50);
      const pagePlans = plans.filter((p) => !p.includes("customer_counts"));
      expect(pagePlans.length).toBeGreaterThan(0);
      for (const plan of pagePlans) {
        expect(plan).toMatch(index);
        expect(plan).not.toMatch(seqScanOfCustomers);
        expect(plan).not.toContain('"Node Type":"Sort"');
      }
    },
  );

  it("uses the name index for a name prefix and the count index for a count range", async () => {
    for (const [filter, index] of [
      ['name = "nimbus nai*"', "customers_name_key_unique"],
      ["service_instance_count >= 100", "customers_service_instance_count"],
    ] as const) {
      const { plans } = await plansOf({ filter: filterOf(filter) });
      for (const plan of plans) {
        expect(plan).toContain(index);
        expect(plan).not.toMatch(seqScanOfCustomers);
      }
    }
  });
});
