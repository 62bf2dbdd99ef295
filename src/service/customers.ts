import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { CustomerInventoryService } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import type { Customer as CustomerMessage } from "../../gen/customerinventory/v1/resources_pb.js";
import { cleanText, type TextRule } from "../domain/text.js";
import type { Caller, ChangeAuthor, CustomerFields } from "../domain/types.js";
import { type FieldViolation, invalidField } from "../errors.js";
import { allOf, parseFilter, searchTermsExpr } from "../filter/filter.js";
import { orderText, parseOrderBy, parseOrderByOrThrow } from "../filter/order-by.js";
import { parseSearch } from "../filter/search.js";
import type { Store } from "../store/index.js";
import { customerToProto } from "./convert.js";
import type { PageTokenCodec } from "./page-token.js";
import { checkRequest, fingerprint, type RequestCheck, resolveUpdateMask } from "./requests.js";

export interface HandlerDeps {
  store: Store;
  pageTokens: PageTokenCodec;
  /** Who is calling (authentication decides; without it, an anonymous caller who sees all). */
  callerOf: (context: HandlerContext) => Caller;
  /** Who makes a call's changes: its caller's subject and its request id. */
  authorOf: (context: HandlerContext) => ChangeAuthor;
}

/** The text rules of a customer's fields; `field` is the path below the customer's own. */
const customerFieldRules: Record<keyof CustomerFields, TextRule> = {
  name: { field: "name", min: 1, max: 100 },
  referenceNumber: { field: "reference_number", min: 0, max: 64 },
  description: { field: "description", min: 0, max: 2000, multiline: true },
};

const mutableCustomerPaths = ["name", "reference_number", "description"] as const;
const pathFields: Record<(typeof mutableCustomerPaths)[number], keyof CustomerFields> = {
  name: "name",
  reference_number: "referenceNumber",
  description: "description",
};

/**
 * Cleans the fields of `customer` named in `fields`, pushing a violation for each bad one,
 * named under `path` (`customer.name`, `customers[3].name`).
 */
export function cleanCustomerFields(
  customer: CustomerMessage | undefined,
  fields: Iterable<keyof CustomerFields>,
  violations: FieldViolation[],
  path = "customer",
): Partial<CustomerFields> {
  const clean: Partial<CustomerFields> = {};
  for (const field of fields) {
    const rule = customerFieldRules[field];
    const value = cleanText(
      customer?.[field] ?? "",
      { ...rule, field: `${path}.${rule.field}` },
      violations,
    );
    if (value !== undefined) clean[field] = value;
  }
  return clean;
}

/**
 * `filter`, `search` and `order_by` as ListCustomers and ExportCustomers take them; `order` is
 * undefined when the request sends none.
 */
export function cleanCustomerQuery(
  req: { filter: string; search: string; orderBy: string },
  check: RequestCheck,
) {
  return {
    filter: parseFilter(req.filter, "filter", check.violations),
    searchTerms: parseSearch(req.search, "search", check.violations),
    order:
      req.orderBy.trim() === ""
        ? undefined
        : parseOrderBy(req.orderBy, "order_by", check.violations),
  };
}

const CREATE_CUSTOMER = "customerinventory.v1.CustomerInventoryService/CreateCustomer";

type CustomerHandlers = Pick<
  ServiceImpl<typeof CustomerInventoryService>,
  "listCustomers" | "getCustomer" | "createCustomer" | "updateCustomer" | "deleteCustomer"
>;

export function createCustomerHandlers({
  store,
  pageTokens,
  callerOf,
  authorOf,
}: HandlerDeps): CustomerHandlers {
  /** The parts of a saved filter a list applies. They were valid when saved. */
  async function loadSavedQuery(id: string, caller: Caller) {
    const saved = await store.savedFilters.get(id, caller);
    const violations: FieldViolation[] = [];
    const filter = parseFilter(saved.filter, "saved_filter_id", violations);
    const searchTerms = parseSearch(saved.search, "saved_filter_id", violations);
    const order =
      saved.orderBy.trim() === ""
        ? undefined
        : parseOrderBy(saved.orderBy, "saved_filter_id", violations);
    if (violations.length > 0) {
      throw invalidField(
        "saved_filter_id",
        `the saved filter no longer applies (${violations[0]?.description}); update it`,
      );
    }
    return { filter: filter?.expr, searchTerms, order };
  }

  return {
    async listCustomers(req, context) {
      const {
        limit,
        savedFilterId,
        query: { filter, searchTerms, order: requestOrder },
      } = checkRequest((check) => ({
        limit: check.pageSize(req.pageSize),
        savedFilterId: req.savedFilterId
          ? check.id(req.savedFilterId, "saved_filter_id")
          : undefined,
        query: cleanCustomerQuery(req, check),
      }));

      // A saved filter is re-read on every page: its filter is ANDed with the request's, its
      // search and order_by apply where the request leaves them empty.
      const saved = savedFilterId
        ? await loadSavedQuery(savedFilterId, callerOf(context))
        : undefined;
      const terms = searchTerms?.length ? searchTerms : (saved?.searchTerms ?? []);
      const order = requestOrder ?? saved?.order ?? parseOrderByOrThrow("", "order_by");
      // The order is part of the scope: a saved filter whose order_by changed mid-walk
      // invalidates its tokens instead of misreading them.
      const scope = {
        rpc: "ListCustomers",
        query: [req.filter, req.search, req.orderBy, req.savedFilterId, orderText(order)],
      };
      const page = await pageTokens.readPage(scope, req.pageToken, (after) =>
        store.customers.list({
          filter: allOf(filter?.expr, saved?.filter, searchTermsExpr(terms)),
          order,
          after,
          limit,
        }),
      );
      return {
        customers: page.items.map(customerToProto),
        nextPageToken: page.nextPageToken,
        totalSize: page.totalSize,
      };
    },

    async getCustomer(req) {
      const id = checkRequest((check) => check.id(req.id, "id"));
      return { customer: customerToProto(await store.customers.get(id)) };
    },

    async createCustomer(req, context) {
      const { fields, requestId } = checkRequest((check) => ({
        fields: cleanCustomerFields(
          req.customer,
          ["name", "referenceNumber", "description"],
          check.violations,
        ) as CustomerFields,
        requestId: check.requestId(req.requestId),
      }));
      const customer = await store.customers.create(fields, {
        author: authorOf(context),
        validateOnly: req.validateOnly,
        idempotencyKey:
          requestId && !req.validateOnly
            ? { method: CREATE_CUSTOMER, requestId, fingerprint: fingerprint(fields) }
            : undefined,
      });
      return { customer: customerToProto(customer) };
    },

    async updateCustomer(req, context) {
      if (!req.customer) throw invalidField("customer", "is required");
      const customer = req.customer;
      const paths = resolveUpdateMask(req.updateMask?.paths, {
        mutable: mutableCustomerPaths,
        ignored: ["id", "etag", "service_instance_count", "create_time", "update_time"],
        populated: (path) => customer[pathFields[path]] !== "",
      });
      const { id, patch } = checkRequest((check) => ({
        id: check.id(customer.id, "customer.id"),
        patch: cleanCustomerFields(
          customer,
          [...paths].map((path) => pathFields[path]),
          check.violations,
        ),
      }));
      const updated = await store.customers.update(id, patch, {
        author: authorOf(context),
        etag: customer.etag || undefined,
        validateOnly: req.validateOnly,
      });
      return { customer: customerToProto(updated) };
    },

    async deleteCustomer(req, context) {
      await store.customers.delete(
        checkRequest((check) => check.id(req.id, "id")),
        {
          author: authorOf(context),
          etag: req.etag || undefined,
          validateOnly: req.validateOnly,
        },
      );
      return {};
    },
  };
}
