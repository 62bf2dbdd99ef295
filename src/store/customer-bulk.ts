import { count, inArray, or, type SQL, sql } from "drizzle-orm";
import { newUlid, randomBase32 } from "../domain/ids.js";
import { normalizeKey } from "../domain/text.js";
import type { ChangeAuthor, Customer, CustomerFields, IdempotencyKey } from "../domain/types.js";
import { DomainError, type FieldViolation, invalidArgument, notFound } from "../errors.js";
import type { FilterExpr } from "../filter/ast.js";
import type { OrderKey } from "../filter/order-by.js";
import {
  authorColumns,
  customerJson,
  firstSequence,
  type NewChange,
  recordChanges,
} from "./changes.js";
import {
  type CustomerRow,
  changedFields,
  customerColumns,
  customerQuery,
  derivedColumns,
  type StoreDeps,
  toCustomer,
} from "./customers.js";
import type { Executor, Transaction } from "./db.js";
import { violatedConstraint } from "./driver-errors.js";
import { writeOnce } from "./idempotency.js";
import { customerChanges, customers } from "./schema.js";

export type ImportMode = "create" | "upsert";
export type ImportOutcome = "CREATED" | "UPDATED" | "UNCHANGED";

/** What an import did with one row; `customerId` is empty for a dry run's creates. */
export interface ImportedRow {
  customerId: string;
  outcome: ImportOutcome;
}

/** Rows fetched per FETCH of an export's cursor, and customers per message. */
export const EXPORT_PAGE = 1000;

export interface ExportPage {
  customers: Customer[];
  /** In the first page only. */
  totalSize?: number;
}

export interface CustomerBulkStore {
  /** The customers of `ids`, in that order (repeats answered each time); NOT_FOUND for any unknown. */
  batchGet(ids: string[]): Promise<Customer[]>;
  /**
   * Writes `rows` atomically (each already valid on its own and distinct from the others):
   * INVALID_ARGUMENT (IMPORT_ROWS_INVALID) naming every row whose name or reference number
   * another customer holds, also when that is found only at commit.
   */
  import(
    rows: CustomerFields[],
    options: {
      mode: ImportMode;
      author: ChangeAuthor;
      validateOnly?: boolean;
      idempotencyKey?: IdempotencyKey;
    },
  ): Promise<ImportedRow[]>;
  /** Every matching customer in `order`, from one snapshot, a page at a time as they are read. */
  export(query: { filter: FilterExpr | undefined; order: OrderKey[] }): AsyncGenerator<ExportPage>;
}

/** A customer row as a raw statement returns it (snake_case columns). */
type RawCustomer = {
  id: string;
  name: string;
  name_key: string;
  reference_number: string | null;
  reference_key: string | null;
  description: string;
  service_instance_count: number;
  /** As the driver sends it: drizzle leaves timestamps to its columns' own mapping. */
  create_time: string;
  update_time: string;
  etag: string;
};

const fromRaw = (r: RawCustomer): Customer => ({
  id: r.id,
  name: r.name,
  referenceNumber: r.reference_number ?? "",
  description: r.description,
  serviceInstanceCount: r.service_instance_count,
  createTime: customers.createTime.mapFromDriverValue(r.create_time) as Date,
  updateTime: customers.updateTime.mapFromDriverValue(r.update_time) as Date,
  etag: r.etag,
});

const IMPORT_ROWS_INVALID = "IMPORT_ROWS_INVALID";

/** The rows of `rows` whose name or reference number a customer other than their own holds. */
async function conflictsOf(
  executor: Executor,
  rows: CustomerFields[],
  ownerOf: (index: number) => string | undefined,
): Promise<FieldViolation[]> {
  const nameKeys = rows.map((r) => normalizeKey(r.name));
  const referenceKeys = rows.map((r) => (r.referenceNumber ? normalizeKey(r.referenceNumber) : ""));
  const holders = await executor
    .select({ id: customers.id, nameKey: customers.nameKey, referenceKey: customers.referenceKey })
    .from(customers)
    .where(
      or(
        inArray(customers.nameKey, nameKeys),
        inArray(
          customers.referenceKey,
          referenceKeys.filter((k) => k !== ""),
        ),
      ),
    );
  const byName = new Map(holders.map((h) => [h.nameKey, h.id]));
  const byReference = new Map(holders.map((h) => [h.referenceKey, h.id]));
  const violations: FieldViolation[] = [];
  rows.forEach((row, i) => {
    const nameHolder = byName.get(nameKeys[i] as string);
    if (nameHolder && nameHolder !== ownerOf(i)) {
      violations.push({
        field: `customers[${i}].name`,
        description: `a customer named "${row.name}" already exists (${nameHolder})`,
      });
    }
    const referenceHolder = referenceKeys[i] ? byReference.get(referenceKeys[i]) : undefined;
    if (referenceHolder && referenceHolder !== ownerOf(i)) {
      violations.push({
        field: `customers[${i}].reference_number`,
        description: `reference number "${row.referenceNumber}" is already used by another customer (${referenceHolder})`,
      });
    }
  });
  return violations;
}

const reviveImport = (json: unknown) => json as ImportedRow[];

export function createCustomerBulkStore({
  db,
  reader = () => db,
  onChangesCommitted = () => {},
}: StoreDeps): CustomerBulkStore {
  /**
   * One statement for every create and its change record: the rows travel as one JSON
   * parameter (a 1,000-row VALUES list is 9,000 parameters for drizzle to build and
   * PostgreSQL to parse and plan, 3× slower when measured).
   */
  async function insertAll(
    tx: Transaction,
    creates: { id: string; fields: CustomerFields }[],
    author: ChangeAuthor,
  ): Promise<void> {
    if (creates.length === 0) return;
    const input = creates.map(({ id, fields }, ordinal) => {
      const d = derivedColumns(id, fields);
      return {
        o: ordinal,
        id,
        name: d.name,
        nk: d.nameKey,
        rn: d.referenceNumber,
        rk: d.referenceKey,
        d: d.description,
        dk: d.descriptionKey,
        st: d.searchText,
        e: randomBase32(16),
      };
    });
    const { actor, actorKey, requestId } = authorColumns(author);
    await tx.execute(sql`
      with input as (
        select * from json_to_recordset(${JSON.stringify(input)}::json)
          as r(o bigint, id text, name text, nk text, rn text, rk text, d text, dk text, st text, e text)),
      created as (
        insert into ${customers} (id, name, name_key, reference_number, reference_key,
          description, description_key, search_text, etag)
        select id, name, nk, rn, rk, d, dk, st, e from input order by o
        returning *)
      insert into ${customerChanges} (sequence, kind, customer_id, actor, actor_key, request_id,
        customer)
      select ${firstSequence} + input.o, 'CUSTOMER_CREATED', created.id, ${actor}, ${actorKey},
        ${requestId}, ${customerJson(sql`created`)}
      from created join input on input.id = created.id`);
  }

  /** One UPDATE for every matched row that changes: its new name and description. */
  async function updateAll(
    tx: Transaction,
    updates: { id: string; fields: CustomerFields }[],
  ): Promise<Customer[]> {
    if (updates.length === 0) return [];
    const values = sql.join(
      updates.map(({ id, fields }) => {
        const d = derivedColumns(id, fields);
        return sql`(${id}, ${d.name}, ${d.nameKey}, ${d.description}, ${d.descriptionKey}, ${d.searchText}, ${randomBase32(16)})`;
      }),
      sql`, `,
    );
    const rows = await tx.execute<RawCustomer>(sql`
      update ${customers} set
        name = v.name, name_key = v.name_key collate "C", description = v.description,
        description_key = v.description_key collate "C", search_text = v.search_text,
        etag = v.etag, update_time = now()
      from (values ${values}) as v(id, name, name_key, description, description_key, search_text, etag)
      where ${customers.id} = v.id collate "C"
      returning ${customers}.*`);
    return [...rows].map(fromRaw);
  }

  async function importRows(
    tx: Transaction,
    rows: CustomerFields[],
    mode: ImportMode,
    author: ChangeAuthor,
    dryRun: boolean,
  ): Promise<ImportedRow[]> {
    // UPSERT: the customers the rows' reference numbers name, locked for the update.
    const matched = new Map<string, CustomerRow>();
    if (mode === "upsert") {
      const keys = rows.map((r) => normalizeKey(r.referenceNumber));
      const found = await tx
        .select(customerColumns)
        .from(customers)
        .where(inArray(customers.referenceKey, keys))
        .for("update");
      for (const row of found) matched.set(row.referenceKey as string, row);
    }
    const matchOf = (i: number) =>
      mode === "upsert"
        ? matched.get(normalizeKey((rows[i] as CustomerFields).referenceNumber))
        : undefined;
    const conflicts = await conflictsOf(tx, rows, (i) => matchOf(i)?.id);
    if (conflicts.length > 0) throw invalidArgument(conflicts, IMPORT_ROWS_INVALID);

    const results: ImportedRow[] = [];
    const creates: { index: number; id: string; fields: CustomerFields }[] = [];
    const updates: { index: number; id: string; fields: CustomerFields; before: Customer }[] = [];
    rows.forEach((fields, index) => {
      const current = matchOf(index);
      if (!current) {
        const id = newUlid();
        creates.push({ index, id, fields });
        results[index] = { customerId: dryRun ? "" : id, outcome: "CREATED" };
        return;
      }
      const before = toCustomer(current);
      const same = before.name === fields.name && before.description === fields.description;
      results[index] = { customerId: current.id, outcome: same ? "UNCHANGED" : "UPDATED" };
      if (!same) {
        updates.push({
          index,
          id: current.id,
          fields: { ...fields, referenceNumber: before.referenceNumber },
          before,
        });
      }
    });

    await insertAll(tx, creates, author);
    const updated = await updateAll(tx, updates);
    const updatedById = new Map(updated.map((c) => [c.id, c]));
    const changes: NewChange[] = updates.map(({ id, before }) => {
      const after = updatedById.get(id) as Customer;
      return {
        kind: "CUSTOMER_UPDATED" as const,
        customerId: id,
        customer: after,
        previousCustomer: before,
        changedFields: changedFields(before, after),
      };
    });
    // The creates took ordinals 0 to creates.length - 1.
    await recordChanges(tx, author, changes, creates.length);
    return results;
  }

  return {
    async batchGet(ids) {
      const rows = await reader()
        .select(customerColumns)
        .from(customers)
        .where(inArray(customers.id, [...new Set(ids)]));
      const byId = new Map(rows.map((r) => [r.id, toCustomer(r)]));
      const missing = ids.find((id) => !byId.has(id));
      if (missing !== undefined) throw notFound("customer", missing);
      return ids.map((id) => byId.get(id) as Customer);
    },

    async import(rows, options) {
      const dryRun = options.validateOnly ?? false;
      try {
        const results = await writeOnce(
          db,
          { key: options.idempotencyKey, revive: reviveImport, dryRun },
          (tx) => importRows(tx, rows, options.mode, options.author, dryRun),
        );
        if (!dryRun && results.some((r) => r.outcome !== "UNCHANGED")) onChangesCommitted();
        return results;
      } catch (err) {
        const constraint = violatedConstraint(err)?.constraint;
        if (
          constraint !== "customers_name_key_unique" &&
          constraint !== "customers_reference_key_unique"
        ) {
          throw err;
        }
        // A concurrent write took a name or reference number between the check and the
        // commit: found again now, and reported row by row.
        const owners = new Map<string, string>();
        if (options.mode === "upsert") {
          const keys = rows.map((r) => normalizeKey(r.referenceNumber));
          for (const m of await db
            .select({ id: customers.id, referenceKey: customers.referenceKey })
            .from(customers)
            .where(inArray(customers.referenceKey, keys))) {
            owners.set(m.referenceKey as string, m.id);
          }
        }
        const conflicts = await conflictsOf(db, rows, (i) =>
          owners.get(normalizeKey((rows[i] as CustomerFields).referenceNumber)),
        );
        if (conflicts.length > 0) throw invalidArgument(conflicts, IMPORT_ROWS_INVALID);
        throw new DomainError(
          "aborted",
          "CONCURRENT_CHANGE",
          "a concurrent change took a name or reference number of this import; retry it",
        );
      }
    },

    async *export(query) {
      const db = reader();
      const { where, orderBy } = customerQuery(query);
      const select: SQL = db
        .select(customerColumns)
        .from(customers)
        .where(where)
        .orderBy(...orderBy)
        .getSQL();
      yield* pagesOf<ExportPage>((emit) =>
        db.transaction(
          async (tx) => {
            const [total] = await tx.select({ n: count() }).from(customers).where(where);
            await tx.execute(sql`declare export_rows no scroll cursor for ${select}`);
            for (let first = true; ; first = false) {
              const rows = [
                ...(await tx.execute<RawCustomer>(
                  sql`fetch forward ${sql.raw(String(EXPORT_PAGE))} from export_rows`,
                )),
              ];
              if (rows.length === 0 && !first) return;
              await emit({
                customers: rows.map(fromRaw),
                totalSize: first ? (total?.n ?? 0) : undefined,
              });
              if (rows.length < EXPORT_PAGE) return;
            }
          },
          { isolationLevel: "repeatable read", accessMode: "read only" },
        ),
      );
    },
  };
}

const STOPPED = new Error("the reader stopped");

/**
 * The pages `produce` emits, as an async generator with backpressure: `emit` resolves only
 * when the reader asks for the next page, so at most one page waits in memory. When the
 * reader stops early, the pending `emit` rejects and `produce` (a transaction) unwinds.
 */
async function* pagesOf<T>(produce: (emit: (page: T) => Promise<void>) => Promise<void>) {
  const waiting: T[] = [];
  let wakeReader: (() => void) | undefined;
  let resumeProducer: ((stop: boolean) => void) | undefined;
  let finished = false;
  let failure: unknown;
  const emit = (page: T) =>
    new Promise<void>((resolve, reject) => {
      waiting.push(page);
      resumeProducer = (stop) => (stop ? reject(STOPPED) : resolve());
      wakeReader?.();
    });
  const producing = produce(emit).then(
    () => {
      finished = true;
      wakeReader?.();
    },
    (err: unknown) => {
      if (err !== STOPPED) failure = err;
      finished = true;
      wakeReader?.();
    },
  );
  try {
    for (;;) {
      const page = waiting.shift();
      if (page !== undefined) {
        yield page;
        const resume = resumeProducer;
        resumeProducer = undefined;
        resume?.(false);
        continue;
      }
      if (finished) {
        if (failure !== undefined) throw failure;
        return;
      }
      await new Promise<void>((resolve) => {
        wakeReader = resolve;
      });
      wakeReader = undefined;
    }
  } finally {
    const resume = resumeProducer;
    resumeProducer = undefined;
    resume?.(true);
    await producing;
  }
}
