import type { ServiceImpl } from "@connectrpc/connect";
import {
  type CustomerInventoryService,
  ImportMode as ImportModeMessage,
  ImportOutcome as ImportOutcomeMessage,
} from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { normalizeKey } from "../domain/text.js";
import type { CustomerFields } from "../domain/types.js";
import { type FieldViolation, invalidArgument, invalidField } from "../errors.js";
import { allOf, searchTermsExpr } from "../filter/filter.js";
import { parseOrderByOrThrow } from "../filter/order-by.js";
import type { ImportMode, ImportOutcome } from "../store/customer-bulk.js";
import { customerToProto } from "./convert.js";
import { cleanCustomerFields, cleanCustomerQuery, type HandlerDeps } from "./customers.js";
import { checkRequest, cleanRequestId, fingerprint } from "./requests.js";

/** Ids per BatchGetCustomers and rows per ImportCustomers, at most. */
export const MAX_BATCH = 1000;

const IMPORT_CUSTOMERS = "customerinventory.v1.CustomerInventoryService/ImportCustomers";

const modes: Partial<Record<ImportModeMessage, ImportMode>> = {
  [ImportModeMessage.UNSPECIFIED]: "create",
  [ImportModeMessage.CREATE]: "create",
  [ImportModeMessage.UPSERT]: "upsert",
};

const outcomes: Record<ImportOutcome, ImportOutcomeMessage> = {
  CREATED: ImportOutcomeMessage.CREATED,
  UPDATED: ImportOutcomeMessage.UPDATED,
  UNCHANGED: ImportOutcomeMessage.UNCHANGED,
};

/** `count` items for a field that takes 1 to MAX_BATCH; a violation otherwise. */
function batchSizeProblem(field: string, count: number, what: string): FieldViolation | undefined {
  if (count >= 1 && count <= MAX_BATCH) return undefined;
  return { field, description: `must hold 1 to ${MAX_BATCH} ${what} (got ${count})` };
}

/** Rows of one import that name the same name or reference number as an earlier row. */
function duplicatesWithin(rows: CustomerFields[]): FieldViolation[] {
  const violations: FieldViolation[] = [];
  const names = new Map<string, number>();
  const references = new Map<string, number>();
  rows.forEach((row, i) => {
    const name = normalizeKey(row.name);
    const first = names.get(name);
    if (first === undefined) names.set(name, i);
    else {
      violations.push({
        field: `customers[${i}].name`,
        description: `is also the name of customers[${first}]`,
      });
    }
    if (row.referenceNumber === "") return;
    const reference = normalizeKey(row.referenceNumber);
    const firstReference = references.get(reference);
    if (firstReference === undefined) references.set(reference, i);
    else {
      violations.push({
        field: `customers[${i}].reference_number`,
        description: `is also the reference number of customers[${firstReference}]`,
      });
    }
  });
  return violations;
}

export function createBulkHandlers({
  store,
  authorOf,
}: Pick<HandlerDeps, "store" | "authorOf">): Pick<
  ServiceImpl<typeof CustomerInventoryService>,
  "batchGetCustomers" | "importCustomers" | "exportCustomers"
> {
  return {
    async batchGetCustomers(req) {
      const ids = checkRequest((check) => {
        const problem = batchSizeProblem("ids", req.ids.length, "ids");
        if (problem) {
          check.violations.push(problem);
          return [];
        }
        return req.ids.map((id, i) => check.id(id, `ids[${i}]`));
      });
      const customers = await store.bulk.batchGet(ids);
      return { customers: customers.map(customerToProto) };
    },

    async importCustomers(req, context) {
      const violations: FieldViolation[] = [];
      const size = batchSizeProblem("customers", req.customers.length, "customers");
      if (size) throw invalidArgument([size]);
      const mode = modes[req.mode];
      if (!mode) throw invalidField("mode", `is not an ImportMode (got ${req.mode})`);
      const requestId = cleanRequestId(req.requestId, violations);
      if (violations.length > 0) throw invalidArgument(violations);
      const rows = req.customers.map((customer, i) => {
        const path = `customers[${i}]`;
        const fields = cleanCustomerFields(
          customer,
          ["name", "referenceNumber", "description"],
          violations,
          path,
        ) as CustomerFields;
        if (mode === "upsert" && customer.referenceNumber.trim() === "") {
          violations.push({
            field: `${path}.reference_number`,
            description: "is required in UPSERT mode: rows are matched to customers by it",
          });
        }
        return fields;
      });
      if (violations.length === 0) violations.push(...duplicatesWithin(rows));
      if (violations.length > 0) throw invalidArgument(violations, "IMPORT_ROWS_INVALID");
      const results = await store.bulk.import(rows, {
        mode,
        author: authorOf(context),
        validateOnly: req.validateOnly,
        idempotencyKey:
          requestId && !req.validateOnly
            ? { method: IMPORT_CUSTOMERS, requestId, fingerprint: fingerprint({ mode, rows }) }
            : undefined,
      });
      const counted = (outcome: ImportOutcome) =>
        results.filter((r) => r.outcome === outcome).length;
      return {
        results: results.map((r) => ({ customerId: r.customerId, outcome: outcomes[r.outcome] })),
        createdCount: counted("CREATED"),
        updatedCount: counted("UPDATED"),
        unchangedCount: counted("UNCHANGED"),
      };
    },

    async *exportCustomers(req) {
      const { filter, searchTerms, order } = checkRequest((check) =>
        cleanCustomerQuery(req, check),
      );
      const pages = store.bulk.export({
        filter: allOf(filter?.expr, searchTermsExpr(searchTerms ?? [])),
        order: order ?? parseOrderByOrThrow("", "order_by"),
      });
      for await (const page of pages) {
        yield { customers: page.customers.map(customerToProto), totalSize: page.totalSize ?? 0 };
      }
    },
  };
}
