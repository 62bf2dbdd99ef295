import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

/**
 * Text compared and sorted by code point ("C" collation), whatever the database's locale:
 * ids and normalized keys must order the same way everywhere (keyset paging relies on it).
 */
const codePointText = customType<{ data: string; driverData: string }>({
  dataType: () => 'text COLLATE "C"',
});

/** Millisecond precision: exactly what a JavaScript Date and a page token carry. */
const timestampMs = (name: string) =>
  timestamp(name, { withTimezone: true, precision: 3, mode: "date" });

export const customers = pgTable(
  "customers",
  {
    id: codePointText("id").primaryKey(),
    name: text("name").notNull(),
    /** NFC + lower case of name: what uniqueness and sorting by name use. */
    nameKey: codePointText("name_key").notNull(),
    /** Null when the customer has no reference number. */
    referenceNumber: text("reference_number"),
    referenceKey: codePointText("reference_key"),
    description: text("description").notNull().default(""),
    /** NFC + lower case of description: what filters on description compare. */
    descriptionKey: codePointText("description_key").notNull().default(""),
    /** Normalized name, id, reference number and description, one per line, for keyword search. */
    searchText: text("search_text").notNull(),
    /** Maintained in the same transaction as every instance create and delete. */
    serviceInstanceCount: integer("service_instance_count").notNull().default(0),
    createTime: timestampMs("create_time").notNull().defaultNow(),
    updateTime: timestampMs("update_time").notNull().defaultNow(),
    etag: text("etag").notNull(),
  },
  (t) => [
    uniqueIndex("customers_name_key_unique").on(t.nameKey),
    uniqueIndex("customers_reference_key_unique").on(t.referenceKey),
    // Keyword search and substring filters: LIKE '%term%' through trigrams.
    index("customers_search_text_trgm_idx").using("gin", t.searchText.op("gin_trgm_ops")),
    // Keyset paging for each order_by (name and id are unique: their own indexes serve).
    // Ties are broken by id ascending, so a descending order needs an index of its own
    // where ties are common.
    index("customers_reference_order_asc_idx").on(
      sql`(${t.referenceKey} is null)`,
      sql`coalesce(${t.referenceKey}, '')`,
      t.id,
    ),
    index("customers_reference_order_desc_idx").on(
      sql`(${t.referenceKey} is null) desc`,
      sql`coalesce(${t.referenceKey}, '') desc`,
      t.id,
    ),
    index("customers_create_time_idx").on(t.createTime, t.id),
    index("customers_update_time_idx").on(t.updateTime, t.id),
    index("customers_service_instance_count_asc_idx").on(t.serviceInstanceCount, t.id),
    index("customers_service_instance_count_desc_idx").on(
      t.serviceInstanceCount.desc().nullsFirst(),
      t.id,
    ),
    check("customers_service_instance_count_check", sql`${t.serviceInstanceCount} >= 0`),
  ],
);

/**
 * The number of customers, kept by statement-level triggers on customers (written by hand
 * in drizzle/0001_*.sql: drizzle-kit does not model triggers). Each backend adds to its own
 * shard, so concurrent creates do not queue on one row; the sum is exact.
 */
export const customerCounts = pgTable("customer_counts", {
  shard: integer("shard").primaryKey(),
  n: bigint("n", { mode: "number" }).notNull(),
});

export const serviceInstances = pgTable(
  "service_instances",
  {
    id: codePointText("id").primaryKey(),
    customerId: codePointText("customer_id")
      .notNull()
      .references(() => customers.id, { onDelete: "restrict", onUpdate: "restrict" }),
    name: text("name").notNull(),
    nameKey: codePointText("name_key").notNull(),
    serviceType: text("service_type").notNull(),
    createTime: timestampMs("create_time").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("service_instances_customer_name_key_unique").on(t.customerId, t.nameKey),
    // Serves the foreign key, ListServiceInstances' order and the delete refusal's blockers.
    index("service_instances_customer_create_time_idx").on(t.customerId, t.createTime, t.id),
  ],
);

export const savedFilters = pgTable(
  "saved_filters",
  {
    id: codePointText("id").primaryKey(),
    /** The creator's subject; empty when authentication is off. */
    owner: text("owner").notNull().default(""),
    displayName: text("display_name").notNull(),
    displayNameKey: codePointText("display_name_key").notNull(),
    filter: text("filter").notNull().default(""),
    search: text("search").notNull().default(""),
    orderBy: text("order_by").notNull().default(""),
    shared: boolean("shared").notNull().default(false),
    createTime: timestampMs("create_time").notNull().defaultNow(),
    updateTime: timestampMs("update_time").notNull().defaultNow(),
    etag: text("etag").notNull(),
  },
  (t) => [
    uniqueIndex("saved_filters_owner_display_name_key_unique").on(t.owner, t.displayNameKey),
    index("saved_filters_display_name_key_idx").on(t.displayNameKey, t.id),
  ],
);

/** Successful create calls by request_id, replayed for retries. */
export const idempotencyRecords = pgTable(
  "idempotency_records",
  {
    method: text("method").notNull(),
    requestId: text("request_id").notNull(),
    /** A hash of the validated request: the same request_id with another request is refused. */
    fingerprint: text("fingerprint").notNull(),
    /** The response as it was, as JSON of the domain result. */
    response: jsonb("response").notNull(),
    createTime: timestampMs("create_time").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.method, t.requestId] }),
    index("idempotency_records_create_time_idx").on(t.createTime),
  ],
);

/** Secrets shared by every replica, created on first start (e.g. the page token key). */
export const serverSecrets = pgTable("server_secrets", {
  name: text("name").primaryKey(),
  value: text("value").notNull(),
});

/**
 * One row per committed change, written in the change's own transaction. `sequence` is
 * the writing transaction's id (xid8) shifted left 16 bits plus the change's ordinal in
 * that transaction: see store/changes.ts for why that order is commit-consistent and
 * how readers only ever read below the oldest transaction still running.
 */
export const customerChanges = pgTable(
  "customer_changes",
  {
    sequence: bigint("sequence", { mode: "bigint" }).primaryKey(),
    changeTime: timestampMs("change_time").notNull().defaultNow(),
    /** The ChangeKind name without its CHANGE_KIND_ prefix, e.g. CUSTOMER_CREATED. */
    kind: codePointText("kind").notNull(),
    customerId: codePointText("customer_id").notNull(),
    /** The caller's subject; empty when authentication is off. */
    actor: text("actor").notNull().default(""),
    /** NFC + lower case of actor: what filters compare. */
    actorKey: codePointText("actor_key").notNull().default(""),
    requestId: codePointText("request_id").notNull().default(""),
    /** The customer after the change (before it, for a delete), as JSON of the domain type. */
    customer: jsonb("customer"),
    previousCustomer: jsonb("previous_customer"),
    changedFields: jsonb("changed_fields"),
    serviceInstance: jsonb("service_instance"),
  },
  (t) => [
    // A customer's history (ListCustomerChanges and WatchCustomerChanges by customer_id).
    index("customer_changes_customer_sequence_idx").on(t.customerId, t.sequence),
    // The retention purge.
    index("customer_changes_change_time_idx").on(t.changeTime),
  ],
);

/** The feed's one-row bookkeeping: up to where changes have been purged. */
export const changeFeedState = pgTable("change_feed_state", {
  id: integer("id").primaryKey().default(1),
  /** Every change at or below this sequence may have been purged: older cursors expire. */
  purgedThrough: bigint("purged_through", { mode: "bigint" }).notNull().default(sql`0`),
});
