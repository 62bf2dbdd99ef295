import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateCustomerRequestSchema,
  CreateCustomerResponseSchema,
  CustomerInventoryService,
  DeleteCustomerRequestSchema,
  DeleteCustomerResponseSchema,
  GetCustomerRequestSchema,
  GetCustomerResponseSchema,
  ListCustomersRequestSchema,
  ListCustomersResponseSchema,
} from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import {
  CreateServiceInstanceRequestSchema,
  CreateServiceInstanceResponseSchema,
  ServiceInstanceService,
} from "../../gen/customerinventory/v1/service_instance_service_pb.js";
import {
  ErrorInfoSchema,
  PreconditionFailureSchema,
} from "../../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
let client: grpc.Client;
beforeAll(async () => {
  server = await startTestServer();
  client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client.close();
  await server.close();
});

/** One unary call through grpc-js, (de)serialized with the protobuf-es schemas. */
function call<I extends DescMessage, O extends DescMessage>(
  path: string,
  input: I,
  output: O,
  request: MessageInitShape<I>,
): Promise<MessageShape<O>> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (value: MessageShape<I>) => Buffer.from(toBinary(input, value)),
      (bytes: Buffer) => fromBinary(output, bytes),
      create(input, request),
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
      (err, value) => (err ? reject(err) : resolve(value as MessageShape<O>)),
    );
  });
}

const inventory = `/${CustomerInventoryService.typeName}`;
const instances = `/${ServiceInstanceService.typeName}`;

describe("a @grpc/grpc-js client", () => {
  it("creates, reads, lists, and is refused a delete with decodable google.rpc details", async () => {
    const { customer } = await call(
      `${inventory}/CreateCustomer`,
      CreateCustomerRequestSchema,
      CreateCustomerResponseSchema,
      { customer: { name: "gRPC Corp" } },
    );
    const id = customer?.id ?? "";
    const got = await call(
      `${inventory}/GetCustomer`,
      GetCustomerRequestSchema,
      GetCustomerResponseSchema,
      { id },
    );
    expect(got.customer?.name).toBe("gRPC Corp");
    const listed = await call(
      `${inventory}/ListCustomers`,
      ListCustomersRequestSchema,
      ListCustomersResponseSchema,
      { search: "grpc" },
    );
    expect(listed.customers.map((c) => c.id)).toEqual([id]);
    const { serviceInstance } = await call(
      `${instances}/CreateServiceInstance`,
      CreateServiceInstanceRequestSchema,
      CreateServiceInstanceResponseSchema,
      { serviceInstance: { customerName: "grpc corp", name: "vpn", serviceType: "L3VPN" } },
    );

    const err = await call(
      `${inventory}/DeleteCustomer`,
      DeleteCustomerRequestSchema,
      DeleteCustomerResponseSchema,
      {
        id,
      },
    ).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    const [details] = err?.metadata.get("grpc-status-details-bin") ?? [];
    const status = fromBinary(StatusSchema, details as Buffer);
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    const decoded = status.details.map((any) =>
      any.typeUrl.endsWith("google.rpc.ErrorInfo")
        ? fromBinary(ErrorInfoSchema, any.value)
        : fromBinary(PreconditionFailureSchema, any.value),
    );
    expect(decoded[0]).toMatchObject({
      reason: "CUSTOMER_HAS_SERVICE_INSTANCES",
      domain: "customerinventory.v1",
    });
    expect(decoded[1]).toMatchObject({
      violations: [{ type: "SERVICE_INSTANCE", subject: serviceInstance?.id }],
    });
  });

  it("gets NOT_FOUND and INVALID_ARGUMENT as gRPC status codes", async () => {
    const missing = await call(
      `${inventory}/GetCustomer`,
      GetCustomerRequestSchema,
      GetCustomerResponseSchema,
      {
        id: "01ARZ3NDEKTSV4RRFFQ69G5FAV",
      },
    ).catch((e: grpc.ServiceError) => e);
    expect((missing as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
    const malformed = await call(
      `${inventory}/GetCustomer`,
      GetCustomerRequestSchema,
      GetCustomerResponseSchema,
      {
        id: "nope",
      },
    ).catch((e: grpc.ServiceError) => e);
    expect((malformed as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});
