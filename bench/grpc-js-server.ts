/**
 * A minimal @grpc/grpc-js server answering GetCustomer and CreateCustomer with the same
 * store calls, driver and conversion as the service: the yardstick of `npm run bench:rpc`.
 * Not part of the product. Usage: tsx bench/grpc-js-server.ts <database url> (prints its port).
 */
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  type CreateCustomerRequest,
  CreateCustomerRequestSchema,
  type CreateCustomerResponse,
  CreateCustomerResponseSchema,
  type GetCustomerRequest,
  GetCustomerRequestSchema,
  type GetCustomerResponse,
  GetCustomerResponseSchema,
} from "../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { customerToProto } from "../src/service/convert.js";
import { createDatabase } from "../src/store/db.js";
import { createStore } from "../src/store/index.js";

const url = process.argv[2] ?? "";
const { db } = createDatabase({
  url,
  poolSize: 10,
  statementTimeoutMs: 10_000,
  connectTimeoutSeconds: 10,
});
const store = createStore({ db });

function unary<I extends DescMessage, O extends DescMessage>(name: string, input: I, output: O) {
  return {
    path: `/customerinventory.v1.CustomerInventoryService/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: MessageShape<I>) => Buffer.from(toBinary(input, v)),
    requestDeserialize: (b: Buffer) => fromBinary(input, b),
    responseSerialize: (v: MessageShape<O>) => Buffer.from(toBinary(output, v)),
    responseDeserialize: (b: Buffer) => fromBinary(output, b),
  };
}

const failed = (err: Error) => ({ code: grpc.status.INTERNAL, details: err.message });

const server = new grpc.Server();
server.addService(
  {
    getCustomer: unary("GetCustomer", GetCustomerRequestSchema, GetCustomerResponseSchema),
    createCustomer: unary(
      "CreateCustomer",
      CreateCustomerRequestSchema,
      CreateCustomerResponseSchema,
    ),
  },
  {
    getCustomer: (
      call: grpc.ServerUnaryCall<GetCustomerRequest, GetCustomerResponse>,
      callback: grpc.sendUnaryData<GetCustomerResponse>,
    ) => {
      store.customers
        .get(call.request.id)
        .then((c) =>
          callback(null, create(GetCustomerResponseSchema, { customer: customerToProto(c) })),
        )
        .catch((err: Error) => callback(failed(err)));
    },
    createCustomer: (
      call: grpc.ServerUnaryCall<CreateCustomerRequest, CreateCustomerResponse>,
      callback: grpc.sendUnaryData<CreateCustomerResponse>,
    ) => {
      const { name = "", referenceNumber = "", description = "" } = call.request.customer ?? {};
      store.customers
        .create({ name, referenceNumber, description }, { author: { actor: "", requestId: "" } })
        .then((c) =>
          callback(null, create(CreateCustomerResponseSchema, { customer: customerToProto(c) })),
        )
        .catch((err: Error) => callback(failed(err)));
    },
  },
);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`${JSON.stringify({ msg: "listening", port })}\n`);
});
