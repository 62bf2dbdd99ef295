import type { ConnectRouter } from "@connectrpc/connect";
import { CustomerInventoryService } from "../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { ServiceInstanceService } from "../gen/customerinventory/v1/service_instance_service_pb.js";
import { createCustomerHandlers, type HandlerDeps } from "./service/customers.js";
import { createSavedFilterHandlers } from "./service/saved-filters.js";
import {
  createListServiceInstancesHandler,
  createServiceInstanceHandlers,
} from "./service/service-instances.js";

/** Registers both services of the API on a Connect router. */
export function createRoutes(deps: HandlerDeps): (router: ConnectRouter) => void {
  return (router) => {
    router.service(CustomerInventoryService, {
      ...createCustomerHandlers(deps),
      ...createListServiceInstancesHandler(deps),
      ...createSavedFilterHandlers(deps),
    });
    router.service(ServiceInstanceService, createServiceInstanceHandlers(deps));
  };
}
