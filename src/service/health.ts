import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { CustomerInventoryService } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { ServiceInstanceService } from "../../gen/customerinventory/v1/service_instance_service_pb.js";
import {
  HealthCheckResponseSchema,
  type Health as HealthService,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import type { Health } from "../observability/health.js";

/** The names a health check may ask about: the whole server ("") and each API service. */
const knownServices = new Set([
  "",
  CustomerInventoryService.typeName,
  ServiceInstanceService.typeName,
]);

const response = (status: ServingStatus) => create(HealthCheckResponseSchema, { status });
const statusOf = (serving: boolean) =>
  serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;

/** grpc.health.v1.Health: Check and Watch, for load balancers and orchestrators. */
export function createHealthHandlers(health: Health): ServiceImpl<typeof HealthService> {
  return {
    check(req) {
      if (!knownServices.has(req.service)) {
        throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      }
      return response(statusOf(health.serving));
    },

    async *watch(req, context) {
      if (!knownServices.has(req.service)) {
        yield response(ServingStatus.SERVICE_UNKNOWN);
        await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
        return;
      }
      // Every change is sent, the current status first. The stream ends with the call, or
      // after NOT_SERVING once the server shuts down, so that it does not hold shutdown up.
      const changes: boolean[] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = health.subscribe((serving) => {
        changes.push(serving);
        wake?.();
      });
      const aborted = () => wake?.();
      context.signal.addEventListener("abort", aborted);
      try {
        let last = health.serving;
        yield response(statusOf(last));
        if (health.shuttingDown) return;
        while (!context.signal.aborted) {
          if (changes.length === 0) {
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            wake = undefined;
          }
          const next = changes.shift();
          if (next !== undefined && next !== last) {
            last = next;
            yield response(statusOf(last));
          }
          if (health.shuttingDown && changes.length === 0) return;
        }
      } finally {
        unsubscribe();
        context.signal.removeEventListener("abort", aborted);
      }
    },
  };
}
