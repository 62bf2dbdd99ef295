import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import {
  type CreateCustomerRequest,
  CreateCustomerRequestSchema,
  type CreateCustomerResponse,
  CreateCustomerResponseSchema,
} from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { createTestDatabase } from "../support/database.js";
import { startServiceProcess } from "../support/process.js";

// SIGTERM with hundreds of calls in flight, as a rolling deploy sends it.

const createPath = "/customerinventory.v1.CustomerInventoryService/CreateCustomer";

function createThroughGrpcJs(client: grpc.Client, request: CreateCustomerRequest) {
  return new Promise<CreateCustomerResponse>((resolve, reject) =>
    client.makeUnaryRequest(
      createPath,
      (value: CreateCustomerRequest) => Buffer.from(toBinary(CreateCustomerRequestSchema, value)),
      (bytes: Buffer) => fromBinary(CreateCustomerResponseSchema, bytes),
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + 20_000 },
      (err, value) => (err ? reject(err) : resolve(value as CreateCustomerResponse)),
    ),
  );
}

describe("SIGTERM under load", () => {
  it("drains: NOT_SERVING first, calls in flight complete, no INTERNAL, exit 0, every acknowledged write kept", async () => {
    const database = await createTestDatabase({ poolSize: 1 });
    const service = await startServiceProcess({
      DATABASE_URL: database.url,
      DB_POOL_SIZE: "4",
      SHUTDOWN_GRACE_MS: "15000",
    });
    const client = new grpc.Client(`127.0.0.1:${service.port}`, grpc.credentials.createInsecure());
    const watched: ServingStatus[] = [];
    const watching = (async () => {
      const health = createClient(
        Health,
        createGrpcTransport({ baseUrl: `http://127.0.0.1:${service.port}` }),
      );
      try {
        for await (const { status } of health.watch({ service: "" })) watched.push(status);
      } catch {
        // The stream ends with the server.
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 200));
      const send = (i: number) =>
        createThroughGrpcJs(
          client,
          create(CreateCustomerRequestSchema, {
            customer: { name: `drain ${i}` },
            requestId: `drain-${i}`,
          }),
        );
      // 250 calls at once (one HTTP/2 connection carries at most 256). SIGTERM comes once ten
      // have been answered, so the connection is up and every call has reached the server: with
      // four database connections in the pool, most are still in flight then.
      let answered = 0;
      let tenAnswered = () => {};
      const someAnswered = new Promise<void>((r) => {
        tenAnswered = r;
      });
      const inFlight = Array.from({ length: 250 }, (_, i) =>
        send(i).finally(() => {
          answered += 1;
          if (answered === 10) tenAnswered();
        }),
      );
      await someAnswered;
      const stopped = performance.now();
      const exited = service.stop("SIGTERM");
      await new Promise((r) => setTimeout(r, 100));
      const late = Array.from({ length: 50 }, (_, i) => send(250 + i));
      const [early, after] = await Promise.all([
        Promise.allSettled(inFlight),
        Promise.allSettled(late),
      ]);
      expect(await exited).toBe(0);
      // Drained well within the grace period: nothing held the shutdown up.
      expect(performance.now() - stopped).toBeLessThan(8_000);
      await watching;

      const statusOf = (r: PromiseSettledResult<unknown>) =>
        r.status === "fulfilled" ? "OK" : grpc.status[(r.reason as grpc.ServiceError).code];
      const earlyCodes = early.map(statusOf);
      // The calls that had arrived completed; calls after GOAWAY are refused as retryable.
      expect(earlyCodes.filter((c) => c === "OK")).toHaveLength(250);
      for (const code of [...earlyCodes, ...after.map(statusOf)]) {
        expect(["OK", "UNAVAILABLE"]).toContain(code);
      }
      expect(watched).toContain(ServingStatus.NOT_SERVING);
      expect(service.logs.some((l) => l.msg === "stopped")).toBe(true);

      const acknowledged = [...early, ...after].flatMap((r) =>
        r.status === "fulfilled" ? [r.value.customer?.id as string] : [],
      );
      const sql = postgres(database.url, { max: 1, onnotice: () => {} });
      try {
        const rows = await sql`select id from customers where id in ${sql(acknowledged)}`;
        expect(rows).toHaveLength(acknowledged.length);
      } finally {
        await sql.end();
      }
    } finally {
      client.close();
      service.child.kill("SIGKILL");
      await database.drop();
    }
  }, 60_000);
});
