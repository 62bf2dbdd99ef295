import { and, eq, sql } from "drizzle-orm";
import { newUlid } from "../domain/ids.js";
import { normalizeKey } from "../domain/text.js";
import type {
  ChangeAuthor,
  CountedPage,
  Cursor,
  IdempotencyKey,
  ServiceInstance,
} from "../domain/types.js";
import { alreadyExists, customerNameNotFound, invalidField, notFound } from "../errors.js";
import { recordChanges, reviveServiceInstance } from "./changes.js";
import type { StoreDeps } from "./customers.js";
import type { Executor } from "./db.js";
import { violatedConstraint } from "./driver-errors.js";
import { writeOnce } from "./idempotency.js";
import { cursorValues, orderByKeys, pageOf, rowsAfter, type SortKey } from "./keyset.js";
import { customers, serviceInstances } from "./schema.js";
import { transact } from "./transaction.js";

/** A new instance; its customer is named by id, by name, or by both (which must agree). */
export interface NewServiceInstance {
  customerId?: string;
  customerName?: string;
  name: string;
  serviceType: string;
}

const instanceColumns = {
  id: serviceInstances.id,
  customerId: serviceInstances.customerId,
  customerName: customers.name,
  name: serviceInstances.name,
  serviceType: serviceInstances.serviceType,
  createTime: serviceInstances.createTime,
};

const listOrder: SortKey[] = [
  { expr: serviceInstances.createTime, desc: false },
  { expr: serviceInstances.id, desc: false },
];

export interface ServiceInstanceStore {
  get(id: string): Promise<ServiceInstance>;
  create(
    input: NewServiceInstance,
    options: { author: ChangeAuthor; idempotencyKey?: IdempotencyKey },
  ): Promise<ServiceInstance>;
  delete(id: string, options: { author: ChangeAuthor }): Promise<void>;
  /** A customer's instances by create_time, id. NOT_FOUND for an unknown customer. */
  listByCustomer(query: {
    customerId: string;
    after?: Cursor;
    limit: number;
  }): Promise<CountedPage<ServiceInstance>>;
}

export function createServiceInstanceStore({
  db,
  reader = () => db,
  onChangesCommitted = () => {},
}: StoreDeps): ServiceInstanceStore {
  /** Resolves the customer an instance names, by the contract's rules for id and name. */
  async function resolveCustomerId(tx: Executor, input: NewServiceInstance): Promise<string> {
    const byId = input.customerId
      ? (
          await tx
            .select({ id: customers.id })
            .from(customers)
            .where(eq(customers.id, input.customerId))
        )[0]
      : undefined;
    const byName = input.customerName
      ? (
          await tx
            .select({ id: customers.id })
            .from(customers)
            .where(eq(customers.nameKey, normalizeKey(input.customerName)))
        )[0]
      : undefined;
    if (input.customerId && input.customerName) {
      if (byId && byName && byId.id === byName.id) return byId.id;
      if (!byId && !byName) throw notFound("customer", input.customerId);
      throw invalidField(
        "service_instance.customer_name",
        `does not name customer ${input.customerId}`,
      );
    }
    if (input.customerId) {
      if (!byId) throw notFound("customer", input.customerId);
      return byId.id;
    }
    if (!byName) throw customerNameNotFound(input.customerName ?? "");
    return byName.id;
  }

  return {
    async get(id) {
      const [row] = await reader()
        .select(instanceColumns)
        .from(serviceInstances)
        .innerJoin(customers, eq(customers.id, serviceInstances.customerId))
        .where(eq(serviceInstances.id, id));
      if (!row) throw notFound("service instance", id);
      return row;
    },

    async create(input, options) {
      const id = newUlid();
      try {
        const created = await writeOnce(
          db,
          { key: options.idempotencyKey, revive: reviveServiceInstance },
          async (tx) => {
            const customerId = await resolveCustomerId(tx, input);
            // Locks the customer row: a concurrent DeleteCustomer either commits first (this
            // finds no row) or waits and then sees this instance.
            const [owner] = await tx
              .update(customers)
              .set({ serviceInstanceCount: sql`${customers.serviceInstanceCount} + 1` })
              .where(eq(customers.id, customerId))
              .returning({ name: customers.name });
            if (!owner) throw notFound("customer", customerId);
            const [row] = await tx
              .insert(serviceInstances)
              .values({
                id,
                customerId,
                name: input.name,
                nameKey: normalizeKey(input.name),
                serviceType: input.serviceType,
              })
              .returning({ createTime: serviceInstances.createTime });
            const instance: ServiceInstance = {
              id,
              customerId,
              customerName: owner.name,
              name: input.name,
              serviceType: input.serviceType,
              createTime: (row as { createTime: Date }).createTime,
            };
            await recordChanges(tx, options.author, [
              { kind: "SERVICE_INSTANCE_CREATED", customerId, serviceInstance: instance },
            ]);
            return instance;
          },
        );
        onChangesCommitted();
        return created;
      } catch (err) {
        const violation = violatedConstraint(err);
        if (violation?.constraint === "service_instances_customer_name_key_unique") {
          throw alreadyExists(
            "SERVICE_INSTANCE_NAME_TAKEN",
            `the customer already has a service instance named "${input.name}"`,
            { name: input.name },
          );
        }
        if (violation?.kind === "foreign_key") {
          throw notFound("customer", input.customerId ?? input.customerName ?? "");
        }
        throw err;
      }
    },

    async delete(id, options) {
      await transact(db, async (tx) => {
        const [instance] = await tx
          .select(instanceColumns)
          .from(serviceInstances)
          .innerJoin(customers, eq(customers.id, serviceInstances.customerId))
          .where(eq(serviceInstances.id, id));
        if (!instance) throw notFound("service instance", id);
        // Customer row first, as in create and in DeleteCustomer: one lock order, no deadlock.
        await tx
          .update(customers)
          .set({ serviceInstanceCount: sql`${customers.serviceInstanceCount} - 1` })
          .where(eq(customers.id, instance.customerId));
        const deleted = await tx
          .delete(serviceInstances)
          .where(eq(serviceInstances.id, id))
          .returning({ id: serviceInstances.id });
        if (deleted.length === 0) throw notFound("service instance", id);
        await recordChanges(tx, options.author, [
          {
            kind: "SERVICE_INSTANCE_DELETED",
            customerId: instance.customerId,
            serviceInstance: instance,
          },
        ]);
      });
      onChangesCommitted();
    },

    async listByCustomer({ customerId, after, limit }) {
      const db = reader();
      const [owner] = await db
        .select({ count: customers.serviceInstanceCount })
        .from(customers)
        .where(eq(customers.id, customerId));
      if (!owner) throw notFound("customer", customerId);
      const [time, id] = after ? cursorValues(after, ["string", "string"]) : [];
      const position = after
        ? rowsAfter(listOrder, [sql`${time}::timestamptz`, sql`${id}`])
        : undefined;
      const rows = await db
        .select(instanceColumns)
        .from(serviceInstances)
        .innerJoin(customers, eq(customers.id, serviceInstances.customerId))
        .where(and(eq(serviceInstances.customerId, customerId), position))
        .orderBy(...orderByKeys(listOrder))
        .limit(limit + 1);
      return {
        ...pageOf(rows, limit, (row) => [row.createTime.toISOString(), row.id]),
        totalSize: owner.count,
      };
    },
  };
}
