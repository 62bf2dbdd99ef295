import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { CustomerInventoryService } from "../gen/customerinventory/v1/customer_inventory_service_pb.js";

/** A client of the service at `url`, sending `token` as a bearer token when there is one. */
export function inventoryClient(url: string, token: string | undefined) {
  const bearer: Interceptor = (next) => (req) => {
    if (token) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  return createClient(
    CustomerInventoryService,
    createGrpcTransport({ baseUrl: url, interceptors: [bearer] }),
  );
}

/** A sentence for a call that failed for a reason other than its rows (exit code 2). */
export function describeFailure(err: unknown, url: string): string {
  const e = ConnectError.from(err);
  switch (e.code) {
    case Code.Unavailable:
      return `cannot reach the service at ${url}: ${e.rawMessage} (is it running? --url or CUSTOMER_INVENTORY_URL)`;
    case Code.Unauthenticated:
      return `the service needs a valid token: --token or CUSTOMER_INVENTORY_TOKEN (${e.rawMessage})`;
    case Code.PermissionDenied:
      return `the token's role may not do this: ${e.rawMessage}`;
    default:
      return `${Code[e.code]}: ${e.rawMessage}`;
  }
}
