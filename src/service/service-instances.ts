import type { ServiceImpl } from "@connectrpc/connect";
import type { CustomerInventoryService } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import type { ServiceInstanceService } from "../../gen/customerinventory/v1/service_instance_service_pb.js";
import { cleanId } from "../domain/ids.js";
import { cleanText } from "../domain/text.js";
import type { FieldViolation } from "../errors.js";
import type { NewServiceInstance } from "../store/service-instances.js";
import { serviceInstanceToProto } from "./convert.js";
import type { HandlerDeps } from "./customers.js";
import { cleanPageSize, cleanRequestId, fingerprint, throwIfInvalid } from "./requests.js";

const CREATE_SERVICE_INSTANCE = "customerinventory.v1.ServiceInstanceService/CreateServiceInstance";

export function createServiceInstanceHandlers({
  store,
}: Pick<HandlerDeps, "store">): ServiceImpl<typeof ServiceInstanceService> {
  return {
    async createServiceInstance(req) {
      const violations: FieldViolation[] = [];
      const given = req.serviceInstance;
      const customerId = given?.customerId
        ? cleanId(given.customerId, "service_instance.customer_id", violations)
        : undefined;
      const customerName = given?.customerName
        ? cleanText(
            given.customerName,
            { field: "service_instance.customer_name", min: 1, max: 100 },
            violations,
          )
        : undefined;
      if (!given?.customerId && !given?.customerName) {
        violations.push({
          field: "service_instance.customer_id",
          description: "is required: name the customer by customer_id or customer_name",
        });
      }
      const name = cleanText(
        given?.name ?? "",
        { field: "service_instance.name", min: 1, max: 100 },
        violations,
      );
      const serviceType = cleanText(
        given?.serviceType ?? "",
        { field: "service_instance.service_type", min: 1, max: 64 },
        violations,
      );
      const requestId = cleanRequestId(req.requestId, violations);
      throwIfInvalid(violations);
      const input: NewServiceInstance = {
        customerId,
        customerName,
        name: name as string,
        serviceType: serviceType as string,
      };
      const instance = await store.serviceInstances.create(input, {
        idempotencyKey: requestId
          ? { method: CREATE_SERVICE_INSTANCE, requestId, fingerprint: fingerprint(input) }
          : undefined,
      });
      return { serviceInstance: serviceInstanceToProto(instance) };
    },

    async getServiceInstance(req) {
      const violations: FieldViolation[] = [];
      const id = cleanId(req.id, "id", violations);
      throwIfInvalid(violations);
      return {
        serviceInstance: serviceInstanceToProto(await store.serviceInstances.get(id as string)),
      };
    },

    async deleteServiceInstance(req) {
      const violations: FieldViolation[] = [];
      const id = cleanId(req.id, "id", violations);
      throwIfInvalid(violations);
      await store.serviceInstances.delete(id as string);
      return {};
    },
  };
}

export function createListServiceInstancesHandler({
  store,
  pageTokens,
}: Pick<HandlerDeps, "store" | "pageTokens">): Pick<
  ServiceImpl<typeof CustomerInventoryService>,
  "listServiceInstances"
> {
  return {
    async listServiceInstances(req) {
      const violations: FieldViolation[] = [];
      const customerId = cleanId(req.customerId, "customer_id", violations);
      const limit = cleanPageSize(req.pageSize, violations);
      throwIfInvalid(violations);
      const scope = { rpc: "ListServiceInstances", query: [customerId as string] };
      const page = await store.serviceInstances.listByCustomer({
        customerId: customerId as string,
        after: pageTokens.decode(req.pageToken, scope),
        limit,
      });
      return {
        serviceInstances: page.items.map(serviceInstanceToProto),
        nextPageToken: page.next ? pageTokens.encode(scope, page.next) : "",
        totalSize: page.totalSize,
      };
    },
  };
}
