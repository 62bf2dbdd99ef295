import { and, asc, count, eq, getTableColumns, type SQL, sql } from "drizzle-orm";
import { newUlid, randomBase32 } from "../domain/ids.js";
import { normalizeKey } from "../domain/text.js";
import {
  type ChangeAuthor,
  type ChangeableCustomerField,
  type CountedPage,
  type Cursor,
  type Customer,
  type CustomerFields,
  changeableCustomerFields,
  type IdempotencyKey,
} from "../domain/types.js";
import {
  alreadyExists,
  customerHasServiceInstances,
  etagMismatch,
  MAX_LISTED_BLOCKERS,
  notFound,
} from "../errors.js";
import type { FilterExpr } from "../filter/ast.js";
import { compileFilter, type FilterColumns, requiresSubstringMatch } from "../filter/compile.js";
import type { OrderKey } from "../filter/order-by.js";
import { reviveCustomer, writeRecordingCustomer } from "./changes.js";
import type { Database, Executor } from "./db.js";
import { violatedConstraint } from "./driver-errors.js";
import { writeOnce } from "./idempotency.js";
import {
  type CursorShape,
  cursorValues,
  orderByKeys,
  pageOf,
  partsAfter,
  type SortKey,
} from "./keyset.js";
import { customerCounts, customers, serviceInstances } from "./schema.js";
import { transact } from "./transaction.js";

// Everything a Customer and a page token need: not the search text and description key,
// which are only ever read by PostgreSQL and would double the bytes of a page.
export const {
  searchText: _searchText,
  descriptionKey: _descriptionKey,
  ...customerColumns
} = getTableColumns(customers);

export type CustomerRow = Omit<typeof customers.$inferSelect, "searchText" | "descriptionKey">;

export const toCustomer = (row: CustomerRow): Customer => ({
  id: row.id,
  name: row.name,
  referenceNumber: row.referenceNumber ?? "",
  description: row.description,
  serviceInstanceCount: row.serviceInstanceCount,
  createTime: row.createTime,
  updateTime: row.updateTime,
  etag: row.etag,
});

const fieldOf: Record<ChangeableCustomerField, keyof CustomerFields> = {
  name: "name",
  reference_number: "referenceNumber",
  description: "description",
};

/** The mutable fields whose values differ, in the contract's order. */
export const changedFields = (before: Customer, after: Customer) =>
  changeableCustomerFields.filter((field) => before[fieldOf[field]] !== after[fieldOf[field]]);

/** The columns derived from the mutable fields: normalized keys and the search document. */
export function derivedColumns(id: string, fields: CustomerFields) {
  const referenceKey = fields.referenceNumber === "" ? null : normalizeKey(fields.referenceNumber);
  return {
    name: fields.name,
    nameKey: normalizeKey(fields.name),
    referenceNumber: fields.referenceNumber === "" ? null : fields.referenceNumber,
    referenceKey,
    description: fields.description,
    descriptionKey: normalizeKey(fields.description),
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

type CursorValue = Cursor[number];

/** How one order_by field sorts, and how its position goes into and out of a page token. */
interface SortField {
  /** Non-null sort keys (see keyset.ts), matching the indexes of schema.ts. */
  keys: (desc: boolean) => SortKey[];
  /** The field's page-token value, read off a row. */
  cursor: (row: CustomerRow) => CursorValue;
  /** That value as bound parameters, one per key. */
  params: (value: CursorValue) => SQL[];
  /** What that value is. */
  shape: CursorShape[number];
}

const oneKey = (
  column: SortKey["expr"],
  cursor: SortField["cursor"],
  param: (value: CursorValue) => SQL = (value) => sql`${value}`,
  shape: SortField["shape"] = "string",
): SortField => ({
  keys: (desc) => [{ expr: column, desc }],
  cursor,
  params: (value) => [param(value)],
  shape,
});

const sortFields: Record<OrderKey["field"], SortField> = {
  name: oneKey(customers.nameKey, (row) => row.nameKey),
  // A missing reference number sorts after all others ascending and before them
  // descending: `(reference_key is null)` sorts first, then the value.
  reference_number: {
    keys: (desc) => [
      { expr: sql`(${customers.referenceKey} is null)`, desc },
      { expr: sql`coalesce(${customers.referenceKey}, '')`, desc },
    ],
    cursor: (row) => row.referenceKey,
    params: (value) => [sql`${value === null}`, sql`${value ?? ""}`],
    shape: "string or null",
  },
  create_time: oneKey(
    customers.createTime,
    (row) => row.createTime.toISOString(),
    (value) => sql`${value}::timestamptz`,
  ),
  update_time: oneKey(
    customers.updateTime,
    (row) => row.updateTime.toISOString(),
    (value) => sql`${value}::timestamptz`,
  ),
  service_instance_count: oneKey(
    customers.serviceInstanceCount,
    (row) => row.serviceInstanceCount,
    (value) => sql`${value}::integer`,
    "number",
  ),
  id: oneKey(customers.id, (row) => row.id),
};

/** The sort-key values of `row` under `order`, as they go into a page token. */
const cursorOf = (row: CustomerRow, order: OrderKey[]): Cursor =>
  order.map(({ field }) => sortFields[field].cursor(row));

/** The columns filters read (exported for the compiler's tests). */
export const filterColumns: FilterColumns = {
  text: {
    id: { key: customers.id, nullable: false, id: true },
    name: { key: customers.nameKey, nullable: false },
    reference_number: { key: customers.referenceKey, nullable: true },
    description: { key: customers.descriptionKey, nullable: false, onlyInSearchText: true },
  },
  number: { service_instance_count: customers.serviceInstanceCount },
  time: { create_time: customers.createTime, update_time: customers.updateTime },
  searchText: customers.searchText,
};

/** The WHERE condition and ORDER BY terms of a query: what ExportCustomers reads in a cursor. */
export function customerQuery(query: { filter: FilterExpr | undefined; order: OrderKey[] }) {
  return {
    where: query.filter && compileFilter(query.filter, filterColumns),
    orderBy: orderByKeys(query.order.flatMap(({ field, desc }) => sortFields[field].keys(desc))),
  };
}

export interface ListCustomersQuery {
  /** Which customers: the request's filter, saved filter and search terms together. */
  filter: FilterExpr | undefined;
  /** Sort keys; the last one must be `id`. */
  order: OrderKey[];
  /** Rows strictly after this position (from the previous page's `next`). */
  after?: Cursor;
  /** Rows per page. */
  limit: number;
}

/** Every write says who makes it: its change record carries that. */
export interface WriteOptions {
  author: ChangeAuthor;
  validateOnly?: boolean;
}

export interface CustomerStore {
  get(id: string): Promise<Customer>;
  create(
    fields: CustomerFields,
    options: WriteOptions & { idempotencyKey?: IdempotencyKey },
  ): Promise<Customer>;
  update(
    id: string,
    patch: Partial<CustomerFields>,
    options: WriteOptions & { etag?: string },
  ): Promise<Customer>;
  delete(id: string, options: WriteOptions & { etag?: string }): Promise<void>;
  list(query: ListCustomersQuery): Promise<CountedPage<Customer>>;
}

export interface StoreDeps {
  db: Database;
  /**
   * Where the current call's reads go: a standby for a read call that may be served there,
   * the primary otherwise (see read-replicas.ts); default `db`. Writes always use `db`.
   */
  reader?: () => Database;
  /** Where background reads and writes go (see DatabaseHandle.background); default `db`. */
  background?: Database;
  /** Called after a write that recorded changes has committed (the local feed reader wakes). */
  onChangesCommitted?: () => void;
}

export function createCustomerStore({
  db,
  reader = () => db,
  onChangesCommitted = () => {},
}: StoreDeps): CustomerStore {
  // GetCustomer, the commonest call, as a named prepared statement (one per pool): drizzle
  // sends every other query unnamed, which postgres.js first describes and then runs (two
  // round trips) and PostgreSQL plans for its values each time.
  const prepared = new WeakMap<Database, ReturnType<typeof prepareGet>>();
  const prepareGet = (on: Database) =>
    on
      .select(customerColumns)
      .from(customers)
      .where(eq(customers.id, sql.placeholder("id")))
      .prepare("get_customer");
  const preparedGet = (on: Database) => {
    let query = prepared.get(on);
    if (!query) {
      query = prepareGet(on);
      prepared.set(on, query);
    }
    return query;
  };
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
    const [row] = await tx
      .select(customerColumns)
      .from(customers)
      .where(eq(customers.id, id))
      .for("update");
    if (!row) throw notFound("customer", id);
    if (etag && etag !== row.etag) throw etagMismatch("customer", id, etag);
    return row;
  }

  return {
    async get(id) {
      const [row] = await preparedGet(reader()).execute({ id });
      if (!row) throw notFound("customer", id);
      return toCustomer(row);
    },

    async create(fields, options) {
      const id = newUlid();
      const insert = async (executor: Executor) =>
        (await writeRecordingCustomer(
          executor,
          executor
            .insert(customers)
            .values({ id, ...derivedColumns(id, fields), etag: randomBase32(16) })
            .returning(customerColumns)
            .getSQL(),
          { kind: "CUSTOMER_CREATED" },
          options.author,
        )) as Customer;
      const { idempotencyKey: key, validateOnly: dryRun } = options;
      try {
        // One statement (the insert and its change record) is atomic by itself: a
        // transaction around it would only add BEGIN and COMMIT round trips. A request_id
        // or a dry run needs one.
        const created =
          !key && !dryRun
            ? await insert(db)
            : await writeOnce(db, { key, revive: reviveCustomer, dryRun }, insert);
        if (!dryRun) onChangesCommitted();
        return created;
      } catch (err) {
        return translateWriteError(err, fields);
      }
    },

    async update(id, patch, options) {
      try {
        const result = await transact(
          db,
          async (tx) => {
            const current = await lockForWrite(tx, id, options.etag);
            const next: CustomerFields = {
              name: patch.name ?? current.name,
              referenceNumber: patch.referenceNumber ?? current.referenceNumber ?? "",
              description: patch.description ?? current.description,
            };
            const before = toCustomer(current);
            const changed = changedFields(before, { ...before, ...next });
            if (changed.length === 0) return { customer: before, changed: false };
            const after = (await writeRecordingCustomer(
              tx,
              tx
                .update(customers)
                .set({
                  ...derivedColumns(id, next),
                  etag: randomBase32(16),
                  updateTime: sql`now()`,
                })
                .where(eq(customers.id, id))
                .returning(customerColumns)
                .getSQL(),
              {
                kind: "CUSTOMER_UPDATED",
                previousCustomer: before,
                changedFields: changed,
              },
              options.author,
            )) as Customer;
            return { customer: after, changed: true };
          },
          { dryRun: options.validateOnly },
        );
        if (result.changed && !options.validateOnly) onChangesCommitted();
        return result.customer;
      } catch (err) {
        return translateWriteError(err, patch);
      }
    },

    async delete(id, options) {
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
          await writeRecordingCustomer(
            tx,
            tx.delete(customers).where(eq(customers.id, id)).returning(customerColumns).getSQL(),
            { kind: "CUSTOMER_DELETED" },
            options.author,
          );
        },
        { dryRun: options.validateOnly },
      );
      if (!options.validateOnly) onChangesCommitted();
    },

    async list(query) {
      const where = query.filter && compileFilter(query.filter, filterColumns);
      const keys = query.order.flatMap(({ field, desc }) => sortFields[field].keys(desc));
      const parts = query.after
        ? partsAfter(keys, pageValuesOf(query.after, query.order))
        : [undefined];
      const { rows, totalSize } =
        where && query.filter && requiresSubstringMatch(query.filter)
          ? await listMatchesFirst(where, keys, parts, query.limit + 1)
          : await listInOrder(where, keys, parts, query.limit + 1);
      const page = pageOf(rows, query.limit, (row) => cursorOf(row, query.order));
      return { ...page, items: page.items.map(toCustomer), totalSize };
    },
  };

  /** Reads the parts of a keyset page one after the other until `limit` rows are in. */
  async function readParts<Row>(
    parts: (SQL | undefined)[],
    limit: number,
    readPart: (part: SQL | undefined, limit: number) => Promise<Row[]>,
  ): Promise<Row[]> {
    const rows: Row[] = [];
    for (const part of parts) {
      rows.push(...(await readPart(part, limit - rows.length)));
      if (rows.length >= limit) break;
    }
    return rows;
  }

  /** A page read in the order's index, with its count alongside. */
  async function listInOrder(
    where: SQL | undefined,
    keys: SortKey[],
    parts: (SQL | undefined)[],
    limit: number,
  ) {
    const [rows, totalSize] = await Promise.all([
      readParts(parts, limit, (part, n) =>
        reader()
          .select(customerColumns)
          .from(customers)
          .where(and(where, part))
          .orderBy(...orderByKeys(keys))
          .limit(n),
      ),
      where ? countMatching(where) : countAll(),
    ]);
    return { rows, totalSize };
  }

  /**
   * A page of a filter with a substring match. Walking the order's index and testing each
   * row, which the planner picks expecting matches to be spread evenly, reads most of the
   * table when they cluster late in the order (measured: 1.2 s for a term in 3 % of a
   * million customers). So all matches are read first, through the trigram index, counted
   * by a window (total_size needs them all anyway) and then sorted. The window also keeps
   * PostgreSQL from merging the subquery into the outer query, which takes the table's
   * name so that the sort keys and page conditions still resolve.
   */
  async function listMatchesFirst(
    where: SQL,
    keys: SortKey[],
    parts: (SQL | undefined)[],
    limit: number,
  ) {
    const matches = reader()
      .select({ ...customerColumns, total: sql<number>`count(*) over ()::integer`.as("total") })
      .from(customers)
      .where(where)
      .as("customers");
    const rows = await readParts(parts, limit, (part, n) =>
      reader()
        .select()
        .from(matches)
        .where(part)
        .orderBy(...orderByKeys(keys))
        .limit(n),
    );
    // Past the last match there is no row to carry the count.
    return { rows, totalSize: rows[0]?.total ?? (await countMatching(where)) };
  }

  async function countMatching(where: SQL) {
    const [row] = await reader().select({ n: count() }).from(customers).where(where);
    return row?.n ?? 0;
  }

  /** The trigger-kept count (customer_counts): a few rows, not a scan of the table. */
  async function countAll() {
    const [row] = await reader()
      .select({ n: sql<number>`coalesce(sum(${customerCounts.n}), 0)::integer` })
      .from(customerCounts);
    return row?.n ?? 0;
  }
}

/** The bound parameters of a page token's cursor, one per sort key. */
function pageValuesOf(cursor: Cursor, order: OrderKey[]): SQL[] {
  const values = cursorValues(
    cursor,
    order.map(({ field }) => sortFields[field].shape),
  );
  return order.flatMap(({ field }, i) => sortFields[field].params(values[i] ?? null));
}
