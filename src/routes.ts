import type { ConnectRouter } from "@connectrpc/connect";
import { CustomerInventoryService } from "../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { ServiceInstanceService } from "../gen/customerinventory/v1/service_instance_service_pb.js";
import { Health as HealthService } from "../gen/grpc/health/v1/health_pb.js";
import type { Health } from "./observability/health.js";
import { createBulkHandlers } from "./service/bulk.js";
import { type ChangeHandlerDeps, createChangeHandlers } from "./service/changes.js";
import { createCustomerHandlers, type HandlerDeps } from "./service/customers.js";
import { createHealthHandlers } from "./service/health.js";
import { createReflection } from "./service/reflection.js";
import { createSavedFilterHandlers } from "./service/saved-filters.js";
import {
  createListServiceInstancesHandler,
  createServiceInstanceHandlers,
} from "./service/service-instances.js";

/** Registers both services of the API, health checking and server reflection. */
export function createRoutes(
  deps: HandlerDeps & ChangeHandlerDeps & { health: Health },
): (router: ConnectRouter) => void {
  const reflection = createReflection([
    CustomerInventoryService,
    ServiceInstanceService,
    HealthService,
  ]);
  return (router) => {
    router.service(CustomerInventoryService, {
      ...createCustomerHandlers(deps),
      ...createListServiceInstancesHandler(deps),
      ...createSavedFilterHandlers(deps),
      ...createChangeHandlers(deps),
      ...createBulkHandlers(deps),
    });
    router.service(ServiceInstanceService, createServiceInstanceHandlers(deps));
    router.service(HealthService, createHealthHandlers(deps.health));
    reflection(router);
  };
}
