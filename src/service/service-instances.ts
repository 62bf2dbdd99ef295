import type { ServiceImpl } from "@connectrpc/connect";
import type { CustomerInventoryService } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import type { ServiceInstanceService } from "../../gen/customerinventory/v1/service_instance_service_pb.js";
import type { NewServiceInstance } from "../store/service-instances.js";
import { serviceInstanceToProto } from "./convert.js";
import type { HandlerDeps } from "./customers.js";
import { checkRequest, fingerprint } from "./requests.js";

const CREATE_SERVICE_INSTANCE = "customerinventory.v1.ServiceInstanceService/CreateServiceInstance";

export function createServiceInstanceHandlers({
  store,
  authorOf,
}: Pick<HandlerDeps, "store" | "authorOf">): ServiceImpl<typeof ServiceInstanceService> {
  return {
    async createServiceInstance(req, context) {
      const given = req.serviceInstance;
      const { input, requestId } = checkRequest((check) => {
        if (!given?.customerId && !given?.customerName) {
          check.violations.push({
            field: "service_instance.customer_id",
            description: "is required: name the customer by customer_id or customer_name",
          });
        }
        const input: NewServiceInstance = {
          customerId: given?.customerId
            ? check.id(given.customerId, "service_instance.customer_id")
            : undefined,
          customerName: given?.customerName
            ? check.text(given.customerName, {
                field: "service_instance.customer_name",
                min: 1,
                max: 100,
              })
            : undefined,
          name: check.text(given?.name ?? "", { field: "service_instance.name", min: 1, max: 100 }),
          serviceType: check.text(given?.serviceType ?? "", {
            field: "service_instance.service_type",
            min: 1,
            max: 64,
          }),
        };
        return { input, requestId: check.requestId(req.requestId) };
      });
      const instance = await store.serviceInstances.create(input, {
        author: authorOf(context),
        idempotencyKey: requestId
          ? { method: CREATE_SERVICE_INSTANCE, requestId, fingerprint: fingerprint(input) }
          : undefined,
      });
      return { serviceInstance: serviceInstanceToProto(instance) };
    },

    async getServiceInstance(req) {
      const id = checkRequest((check) => check.id(req.id, "id"));
      return { serviceInstance: serviceInstanceToProto(await store.serviceInstances.get(id)) };
    },

    async deleteServiceInstance(req, context) {
      await store.serviceInstances.delete(
        checkRequest((check) => check.id(req.id, "id")),
        { author: authorOf(context) },
      );
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
      const { customerId, limit } = checkRequest((check) => ({
        customerId: check.id(req.customerId, "customer_id"),
        limit: check.pageSize(req.pageSize),
      }));
      const scope = { rpc: "ListServiceInstances", query: [customerId] };
      const page = await pageTokens.readPage(scope, req.pageToken, (after) =>
        store.serviceInstances.listByCustomer({ customerId, after, limit }),
      );
      return {
        serviceInstances: page.items.map(serviceInstanceToProto),
        nextPageToken: page.nextPageToken,
        totalSize: page.totalSize,
      };
    },
  };
}
