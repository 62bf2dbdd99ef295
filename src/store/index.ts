import { type ChangeStore, createChangeStore } from "./changes.js";
import { type CustomerBulkStore, createCustomerBulkStore } from "./customer-bulk.js";
import { type CustomerStore, createCustomerStore, type StoreDeps } from "./customers.js";
import { createSavedFilterStore, type SavedFilterStore } from "./saved-filters.js";
import { createServiceInstanceStore, type ServiceInstanceStore } from "./service-instances.js";

export interface Store {
  customers: CustomerStore;
  serviceInstances: ServiceInstanceStore;
  savedFilters: SavedFilterStore;
  changes: ChangeStore;
  bulk: CustomerBulkStore;
}

export function createStore(deps: StoreDeps): Store {
  return {
    customers: createCustomerStore(deps),
    serviceInstances: createServiceInstanceStore(deps),
    savedFilters: createSavedFilterStore(deps),
    changes: createChangeStore(deps),
    bulk: createCustomerBulkStore(deps),
  };
}
