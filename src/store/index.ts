import { type CustomerStore, createCustomerStore } from "./customers.js";
import type { Database } from "./db.js";
import { createSavedFilterStore, type SavedFilterStore } from "./saved-filters.js";
import { createServiceInstanceStore, type ServiceInstanceStore } from "./service-instances.js";

export interface Store {
  customers: CustomerStore;
  serviceInstances: ServiceInstanceStore;
  savedFilters: SavedFilterStore;
}

export function createStore({ db }: { db: Database }): Store {
  return {
    customers: createCustomerStore({ db }),
    serviceInstances: createServiceInstanceStore({ db }),
    savedFilters: createSavedFilterStore({ db }),
  };
}
