import { and, eq, or, type SQL, sql } from "drizzle-orm";
import { newUlid, randomBase32 } from "../domain/ids.js";
import { normalizeKey } from "../domain/text.js";
import type { Caller, Cursor, Page, SavedFilter, SavedFilterFields } from "../domain/types.js";
import { alreadyExists, DomainError, etagMismatch, notFound } from "../errors.js";
import type { Database, Executor } from "./db.js";
import { violatedConstraint } from "./driver-errors.js";
import { cursorValues, orderByKeys, pageOf, rowsAfter, type SortKey } from "./keyset.js";
import { savedFilters } from "./schema.js";
import { transact } from "./transaction.js";

type SavedFilterRow = typeof savedFilters.$inferSelect;

const toSavedFilter = ({ displayNameKey: _, ...row }: SavedFilterRow): SavedFilter => row;

const listOrder: SortKey[] = [
  { expr: savedFilters.displayNameKey, desc: false },
  { expr: savedFilters.id, desc: false },
];

/** What `caller` may see: its own, shared ones, or all of them. */
function visibleTo(caller: Caller): SQL | undefined {
  if (caller.seesAll) return undefined;
  return or(eq(savedFilters.owner, caller.subject), eq(savedFilters.shared, true));
}

export interface SavedFilterStore {
  /** NOT_FOUND also when it exists but `caller` may not see it. */
  get(id: string, caller: Caller): Promise<SavedFilter>;
  create(fields: SavedFilterFields, caller: Caller): Promise<SavedFilter>;
  update(
    id: string,
    patch: Partial<SavedFilterFields>,
    caller: Caller,
    options?: { etag?: string },
  ): Promise<SavedFilter>;
  delete(id: string, caller: Caller, options?: { etag?: string }): Promise<void>;
  list(query: { caller: Caller; after?: Cursor; limit: number }): Promise<Page<SavedFilter>>;
}

export function createSavedFilterStore({
  db,
  reader = () => db,
}: {
  db: Database;
  /** Where the current call's reads go (see StoreDeps.reader). */
  reader?: () => Database;
}): SavedFilterStore {
  function translateWriteError(err: unknown, displayName: string | undefined): never {
    if (
      violatedConstraint(err)?.constraint === "saved_filters_owner_display_name_key_unique" &&
      displayName !== undefined
    ) {
      throw alreadyExists(
        "SAVED_FILTER_NAME_TAKEN",
        `you already have a saved filter named "${displayName}"`,
        { display_name: displayName },
      );
    }
    throw err;
  }

  /** Locks a saved filter `caller` may change; others' private filters do not exist for it. */
  async function lockForWrite(tx: Executor, id: string, caller: Caller, etag?: string) {
    const [row] = await tx
      .select()
      .from(savedFilters)
      .where(and(eq(savedFilters.id, id), visibleTo(caller)))
      .for("update");
    if (!row) throw notFound("saved filter", id);
    if (!caller.seesAll && row.owner !== caller.subject) {
      throw new DomainError(
        "permission_denied",
        "NOT_SAVED_FILTER_OWNER",
        "only the owner of a saved filter can change it",
        { metadata: { saved_filter_id: id } },
      );
    }
    if (etag && etag !== row.etag) throw etagMismatch("saved filter", id, etag);
    return row;
  }

  return {
    async get(id, caller) {
      const [row] = await reader()
        .select()
        .from(savedFilters)
        .where(and(eq(savedFilters.id, id), visibleTo(caller)));
      if (!row) throw notFound("saved filter", id);
      return toSavedFilter(row);
    },

    async create(fields, caller) {
      try {
        const [row] = await db
          .insert(savedFilters)
          .values({
            id: newUlid(),
            owner: caller.subject,
            ...fields,
            displayNameKey: normalizeKey(fields.displayName),
            etag: randomBase32(16),
          })
          .returning();
        return toSavedFilter(row as SavedFilterRow);
      } catch (err) {
        return translateWriteError(err, fields.displayName);
      }
    },

    async update(id, patch, caller, options = {}) {
      try {
        return await transact(db, async (tx) => {
          const current = await lockForWrite(tx, id, caller, options.etag);
          const changed = (Object.keys(patch) as (keyof SavedFilterFields)[]).some(
            (key) => patch[key] !== current[key],
          );
          if (!changed) return toSavedFilter(current);
          const [row] = await tx
            .update(savedFilters)
            .set({
              ...patch,
              ...(patch.displayName !== undefined && {
                displayNameKey: normalizeKey(patch.displayName),
              }),
              etag: randomBase32(16),
              updateTime: sql`now()`,
            })
            .where(eq(savedFilters.id, id))
            .returning();
          return toSavedFilter(row as SavedFilterRow);
        });
      } catch (err) {
        return translateWriteError(err, patch.displayName);
      }
    },

    async delete(id, caller, options = {}) {
      await transact(db, async (tx) => {
        await lockForWrite(tx, id, caller, options.etag);
        await tx.delete(savedFilters).where(eq(savedFilters.id, id));
      });
    },

    async list({ caller, after, limit }) {
      const position = after
        ? rowsAfter(
            listOrder,
            cursorValues(after, ["string", "string"]).map((value) => sql`${value}`),
          )
        : undefined;
      const rows = await reader()
        .select()
        .from(savedFilters)
        .where(and(visibleTo(caller), position))
        .orderBy(...orderByKeys(listOrder))
        .limit(limit + 1);
      const page = pageOf(rows, limit, (row) => [row.displayNameKey, row.id]);
      return { ...page, items: page.items.map(toSavedFilter) };
    },
  };
}
