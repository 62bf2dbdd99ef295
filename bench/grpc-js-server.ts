/**
 * A minimal @grpc/grpc-js server answering GetCustomer with the same store query, driver
 * and conversion as the service: the yardstick of `npm run bench:rpc`. Not part of the
 * product. Usage: tsx bench/grpc-js-server.ts <database url> (prints its port).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
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

const server = new grpc.Server();
server.addService(
  {
    getCustomer: {
      path: "/customerinventory.v1.CustomerInventoryService/GetCustomer",
      requestStream: false,
      responseStream: false,
      requestSerialize: (v: GetCustomerRequest) =>
        Buffer.from(toBinary(GetCustomerRequestSchema, v)),
      requestDeserialize: (b: Buffer) => fromBinary(GetCustomerRequestSchema, b),
      responseSerialize: (v: GetCustomerResponse) =>
        Buffer.from(toBinary(GetCustomerResponseSchema, v)),
      responseDeserialize: (b: Buffer) => fromBinary(GetCustomerResponseSchema, b),
    },
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
        .catch((err: Error) => callback({ code: grpc.status.INTERNAL, details: err.message }));
    },
  },
);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`${JSON.stringify({ msg: "listening", port })}\n`);
});
