import { and, asc, count, eq, like, type SQL, sql } from "drizzle-orm";
import { newUlid, randomBase32 } from "../domain/ids.js";
import { normalizeKey } from "../domain/text.js";
import type {
  CountedPage,
  Cursor,
  Customer,
  CustomerFields,
  IdempotencyKey,
} from "../domain/types.js";
import {
  alreadyExists,
  customerHasServiceInstances,
  etagMismatch,
  MAX_LISTED_BLOCKERS,
  notFound,
} from "../errors.js";
import type { OrderKey } from "../filter/order-by.js";
import { violatedConstraint } from "./constraint-errors.js";
import type { Database, Executor } from "./db.js";
import { writeOnce } from "./idempotency.js";
import { escapeLike, type KeyValue, orderByKeys, rowsAfter, type SortKey } from "./keyset.js";
import { customers, serviceInstances } from "./schema.js";
import { transact } from "./transaction.js";

type CustomerRow = typeof customers.$inferSelect;

const toCustomer = (row: CustomerRow): Customer => ({
  id: row.id,
  name: row.name,
  referenceNumber: row.referenceNumber ?? "",
  description: row.description,
  serviceInstanceCount: row.serviceInstanceCount,
  createTime: row.createTime,
  updateTime: row.updateTime,
  etag: row.etag,
});

/** Turns a customer stored as JSON (an idempotency record) back into a Customer. */
const reviveCustomer = (json: unknown): Customer => {
  const c = json as Customer & { createTime: string; updateTime: string };
  return { ...c, createTime: new Date(c.createTime), updateTime: new Date(c.updateTime) };
};

/** The columns derived from the mutable fields: normalized keys and the search document. */
function derivedColumns(id: string, fields: CustomerFields) {
  const referenceKey = fields.referenceNumber === "" ? null : normalizeKey(fields.referenceNumber);
  return {
    name: fields.name,
    nameKey: normalizeKey(fields.name),
    referenceNumber: fields.referenceNumber === "" ? null : fields.referenceNumber,
    referenceKey,
    description: fields.description,
    // One value per line: a search term never contains white space, so it cannot match
    // across two of them.
    searchText: [
      normalizeKey(fields.name),
      id.toLowerCase(),
      referenceKey ?? "",
      normalizeKey(fields.description),
    ].join("\n"),
  };
}

const sortColumns: Record<OrderKey["field"], { column: SortKey["column"]; nullable: boolean }> = {
  name: { column: customers.nameKey, nullable: false },
  reference_number: { column: customers.referenceKey, nullable: true },
  create_time: { column: customers.createTime, nullable: false },
  update_time: { column: customers.updateTime, nullable: false },
  service_instance_count: { column: customers.serviceInstanceCount, nullable: false },
  id: { column: customers.id, nullable: false },
};

const isTimeField = (field: OrderKey["field"]) =>
  field === "create_time" || field === "update_time";

/** How each sort field reads its page token value off a row. */
const cursorValues: Record<OrderKey["field"], (row: CustomerRow) => string | number | null> = {
  name: (row) => row.nameKey,
  reference_number: (row) => row.referenceKey,
  create_time: (row) => row.createTime.toISOString(),
  update_time: (row) => row.updateTime.toISOString(),
  service_instance_count: (row) => row.serviceInstanceCount,
  id: (row) => row.id,
};

/** The sort-key values of `row` under `order`, as they go into a page token. */
const cursorOf = (row: CustomerRow, order: OrderKey[]): Cursor =>
  order.map(({ field }) => cursorValues[field](row));

function keyValuesOf(cursor: Cursor, order: OrderKey[]): KeyValue[] {
  return order.map(({ field }, i) => {
    const value = cursor[i] ?? null;
    return isTimeField(field) && typeof value === "string" ? new Date(value) : value;
  });
}

export interface ListCustomersQuery {
  /** Normalized search terms; each must occur in the customer's search document. */
  searchTerms: string[];
  /** Sort keys; the last one must be `id`. */
  order: OrderKey[];
  /** Rows strictly after this position (from the previous page's `next`). */
  after?: Cursor;
  /** Rows per page. */
  limit: number;
}

export interface CustomerStore {
  get(id: string): Promise<Customer>;
  create(
    fields: CustomerFields,
    options?: { idempotencyKey?: IdempotencyKey; validateOnly?: boolean },
  ): Promise<Customer>;
  update(
    id: string,
    patch: Partial<CustomerFields>,
    options?: { etag?: string; validateOnly?: boolean },
  ): Promise<Customer>;
  delete(id: string, options?: { etag?: string; validateOnly?: boolean }): Promise<void>;
  list(query: ListCustomersQuery): Promise<CountedPage<Customer>>;
}

export function createCustomerStore({ db }: { db: Database }): CustomerStore {
  /** Turns a unique violation into ALREADY_EXISTS naming the customer that holds the value. */
  async function translateWriteError(
    err: unknown,
    fields: Partial<CustomerFields>,
  ): Promise<never> {
    const violation = violatedConstraint(err);
    if (violation?.constraint === "customers_name_key_unique" && fields.name !== undefined) {
      const holder = await findIdBy(customers.nameKey, normalizeKey(fields.name));
      throw alreadyExists(
        "CUSTOMER_NAME_TAKEN",
        `a customer named "${fields.name}" already exists`,
        { name: fields.name, ...(holder && { customer_id: holder }) },
      );
    }
    if (violation?.constraint === "customers_reference_key_unique" && fields.referenceNumber) {
      const holder = await findIdBy(customers.referenceKey, normalizeKey(fields.referenceNumber));
      throw alreadyExists(
        "REFERENCE_NUMBER_TAKEN",
        `reference number "${fields.referenceNumber}" is already used by another customer`,
        { reference_number: fields.referenceNumber, ...(holder && { customer_id: holder }) },
      );
    }
    throw err;
  }

  async function findIdBy(
    column: typeof customers.nameKey | typeof customers.referenceKey,
    key: string,
  ) {
    const [row] = await db.select({ id: customers.id }).from(customers).where(eq(column, key));
    return row?.id;
  }

  async function lockForWrite(tx: Executor, id: string, etag: string | undefined) {
    const [row] = await tx.select().from(customers).where(eq(customers.id, id)).for("update");
    if (!row) throw notFound("customer", id);
    if (etag && etag !== row.etag) throw etagMismatch("customer", id, etag);
    return row;
  }

  return {
    async get(id) {
      const [row] = await db.select().from(customers).where(eq(customers.id, id));
      if (!row) throw notFound("customer", id);
      return toCustomer(row);
    },

    async create(fields, options = {}) {
      const id = newUlid();
      try {
        return await writeOnce(
          db,
          { key: options.idempotencyKey, revive: reviveCustomer, dryRun: options.validateOnly },
          async (tx) => {
            const [row] = await tx
              .insert(customers)
              .values({ id, ...derivedColumns(id, fields), etag: randomBase32(16) })
              .returning();
            return toCustomer(row as CustomerRow);
          },
        );
      } catch (err) {
        return translateWriteError(err, fields);
      }
    },

    async update(id, patch, options = {}) {
      try {
        return await transact(
          db,
          async (tx) => {
            const current = await lockForWrite(tx, id, options.etag);
            const next: CustomerFields = {
              name: patch.name ?? current.name,
              referenceNumber: patch.referenceNumber ?? current.referenceNumber ?? "",
              description: patch.description ?? current.description,
            };
            const unchanged =
              next.name === current.name &&
              next.referenceNumber === (current.referenceNumber ?? "") &&
              next.description === current.description;
            if (unchanged) return toCustomer(current);
            const [row] = await tx
              .update(customers)
              .set({
                ...derivedColumns(id, next),
                etag: randomBase32(16),
                updateTime: sql`now()`,
              })
              .where(eq(customers.id, id))
              .returning();
            return toCustomer(row as CustomerRow);
          },
          { dryRun: options.validateOnly },
        );
      } catch (err) {
        return translateWriteError(err, patch);
      }
    },

    async delete(id, options = {}) {
      await transact(
        db,
        async (tx) => {
          // The row lock orders this delete with instance creation, which increments the
          // counter under the same lock: whichever commits first, the other sees it.
          const current = await lockForWrite(tx, id, options.etag);
          const blockers = await tx
            .select({ id: serviceInstances.id })
            .from(serviceInstances)
            .where(eq(serviceInstances.customerId, id))
            .orderBy(asc(serviceInstances.createTime), asc(serviceInstances.id))
            .limit(MAX_LISTED_BLOCKERS);
          if (blockers.length > 0 || current.serviceInstanceCount > 0) {
            throw customerHasServiceInstances(
              id,
              Math.max(current.serviceInstanceCount, blockers.length),
              blockers.map((b) => b.id),
            );
          }
          // The foreign key (ON DELETE RESTRICT) stays the last word if the counter ever lied.
          await tx.delete(customers).where(eq(customers.id, id));
        },
        { dryRun: options.validateOnly },
      );
    },

    async list(query) {
      const filters: SQL[] = query.searchTerms.map((term) =>
        like(customers.searchText, `%${escapeLike(term)}%`),
      );
      const keys: SortKey[] = query.order.map(({ field, desc }) => ({
        ...sortColumns[field],
        desc,
      }));
      const pageFilters = query.after
        ? [...filters, rowsAfter(keys, keyValuesOf(query.after, query.order))]
        : filters;
      const [rows, [total]] = await Promise.all([
        db
          .select()
          .from(customers)
          .where(and(...pageFilters))
          .orderBy(...orderByKeys(keys))
          .limit(query.limit + 1),
        db
          .select({ n: count() })
          .from(customers)
          .where(and(...filters)),
      ]);
      const items = rows.slice(0, query.limit);
      const last = items[items.length - 1];
      return {
        items: items.map(toCustomer),
        next: rows.length > query.limit && last ? cursorOf(last, query.order) : undefined,
        totalSize: total?.n ?? 0,
      };
    },
  };
}
