import type { ServiceImpl } from "@connectrpc/connect";
import type { CustomerInventoryService } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import type { SavedFilter as SavedFilterMessage } from "../../gen/customerinventory/v1/resources_pb.js";
import { cleanText } from "../domain/text.js";
import type { SavedFilterFields } from "../domain/types.js";
import { type FieldViolation, invalidField } from "../errors.js";
import { parseFilter } from "../filter/filter.js";
import { parseOrderBy } from "../filter/order-by.js";
import { parseSearch } from "../filter/search.js";
import { savedFilterToProto } from "./convert.js";
import type { HandlerDeps } from "./customers.js";
import { checkRequest, resolveUpdateMask } from "./requests.js";

const mutablePaths = ["display_name", "filter", "search", "order_by", "shared"] as const;
type MutablePath = (typeof mutablePaths)[number];
const pathFields: Record<MutablePath, keyof SavedFilterFields> = {
  display_name: "displayName",
  filter: "filter",
  search: "search",
  order_by: "orderBy",
  shared: "shared",
};

/**
 * Cleans the named fields of a saved filter. filter, search and order_by are checked exactly
 * as ListCustomers checks them, so that a saved filter always applies.
 */
function cleanSavedFilterFields(
  given: SavedFilterMessage | undefined,
  paths: Iterable<MutablePath>,
  violations: FieldViolation[],
): Partial<SavedFilterFields> {
  const clean: Partial<SavedFilterFields> = {};
  const field = (path: string) => `saved_filter.${path}`;
  for (const path of paths) {
    switch (path) {
      case "display_name":
        clean.displayName = cleanText(
          given?.displayName ?? "",
          { field: field(path), min: 1, max: 100 },
          violations,
        );
        break;
      case "filter":
        if (parseFilter(given?.filter ?? "", field(path), violations)) {
          clean.filter = (given?.filter ?? "").trim();
        }
        break;
      case "search":
        if (parseSearch(given?.search ?? "", field(path), violations)) {
          clean.search = (given?.search ?? "").trim();
        }
        break;
      case "order_by":
        if (parseOrderBy(given?.orderBy ?? "", field(path), violations)) {
          clean.orderBy = (given?.orderBy ?? "").trim();
        }
        break;
      case "shared":
        clean.shared = given?.shared ?? false;
        break;
    }
  }
  return clean;
}

type SavedFilterHandlers = Pick<
  ServiceImpl<typeof CustomerInventoryService>,
  | "createSavedFilter"
  | "getSavedFilter"
  | "listSavedFilters"
  | "updateSavedFilter"
  | "deleteSavedFilter"
>;

export function createSavedFilterHandlers({
  store,
  pageTokens,
  callerOf,
}: HandlerDeps): SavedFilterHandlers {
  return {
    async createSavedFilter(req, context) {
      const fields = checkRequest(
        (check) =>
          cleanSavedFilterFields(
            req.savedFilter,
            mutablePaths,
            check.violations,
          ) as SavedFilterFields,
      );
      const saved = await store.savedFilters.create(fields, callerOf(context));
      return { savedFilter: savedFilterToProto(saved) };
    },

    async getSavedFilter(req, context) {
      const id = checkRequest((check) => check.id(req.id, "id"));
      const saved = await store.savedFilters.get(id, callerOf(context));
      return { savedFilter: savedFilterToProto(saved) };
    },

    async listSavedFilters(req, context) {
      const limit = checkRequest((check) => check.pageSize(req.pageSize));
      const caller = callerOf(context);
      // Bound to the caller: what one caller sees is not what another does.
      const scope = { rpc: "ListSavedFilters", query: [caller.subject] };
      const page = await pageTokens.readPage(scope, req.pageToken, (after) =>
        store.savedFilters.list({ caller, after, limit }),
      );
      return {
        savedFilters: page.items.map(savedFilterToProto),
        nextPageToken: page.nextPageToken,
      };
    },

    async updateSavedFilter(req, context) {
      if (!req.savedFilter) throw invalidField("saved_filter", "is required");
      const given = req.savedFilter;
      const paths = resolveUpdateMask(req.updateMask?.paths, {
        mutable: mutablePaths,
        ignored: ["id", "etag", "owner", "create_time", "update_time"],
        populated: (path) => {
          const value = given[pathFields[path]];
          return value !== "" && value !== false;
        },
      });
      const { id, patch } = checkRequest((check) => ({
        id: check.id(given.id, "saved_filter.id"),
        patch: cleanSavedFilterFields(given, paths, check.violations),
      }));
      const saved = await store.savedFilters.update(id, patch, callerOf(context), {
        etag: given.etag || undefined,
      });
      return { savedFilter: savedFilterToProto(saved) };
    },

    async deleteSavedFilter(req, context) {
      const id = checkRequest((check) => check.id(req.id, "id"));
      await store.savedFilters.delete(id, callerOf(context), {
        etag: req.etag || undefined,
      });
      return {};
    },
  };
}
