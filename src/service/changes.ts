import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type CustomerInventoryService,
  WatchCustomerChangesResponseSchema,
} from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import {
  type CustomerChange as CustomerChangeMessage,
  CustomerChangeSchema,
} from "../../gen/customerinventory/v1/resources_pb.js";
import type { CustomerChange } from "../domain/types.js";
import type { ChangeFeed } from "../feed/change-feed.js";
import { changeMatcher } from "../feed/change-filter.js";
import { changeFilterFields } from "../filter/ast.js";
import { parseFilter } from "../filter/filter.js";
import type { ChangeCursorCodec } from "./change-cursor.js";
import { customerChangeToProto } from "./convert.js";
import type { HandlerDeps } from "./customers.js";
import { checkRequest, type RequestCheck } from "./requests.js";

export interface ChangeHandlerDeps extends Pick<HandlerDeps, "store" | "pageTokens"> {
  feed: ChangeFeed;
  cursors: ChangeCursorCodec;
}

/** customer_id and filter, as both change RPCs take them. */
function cleanSelection(req: { customerId: string; filter: string }, check: RequestCheck) {
  return {
    customerId: req.customerId ? check.id(req.customerId, "customer_id") : undefined,
    filter: parseFilter(req.filter, "filter", check.violations, changeFilterFields)?.expr,
  };
}

export function createChangeHandlers({
  store,
  pageTokens,
  feed,
  cursors,
}: ChangeHandlerDeps): Pick<
  ServiceImpl<typeof CustomerInventoryService>,
  "listCustomerChanges" | "watchCustomerChanges"
> {
  // Every watcher of a process is sent the same buffered change objects: each is converted
  // (and its cursor signed) once.
  const converted = new WeakMap<CustomerChange, CustomerChangeMessage>();
  const toProto = (change: CustomerChange) => {
    let message = converted.get(change);
    if (!message) {
      message = customerChangeToProto(change, cursors.encode({ position: change.sequence }));
      converted.set(change, message);
    }
    return message;
  };

  // Binary streams get each change encoded once for all their watchers: the message carries
  // the encoded changes as its field 1, written out verbatim (protobuf's unknown fields).
  const encoded = new WeakMap<CustomerChange, Uint8Array>();
  const encodedOf = (change: CustomerChange) => {
    let data = encoded.get(change);
    if (!data) {
      data = new BinaryWriter().bytes(toBinary(CustomerChangeSchema, toProto(change))).finish();
      encoded.set(change, data);
    }
    return data;
  };
  const binaryMessage = (changes: CustomerChange[], cursor: string) => {
    const message = create(WatchCustomerChangesResponseSchema, { cursor });
    message.$unknown = changes.map((c) => ({
      no: 1,
      wireType: WireType.LengthDelimited,
      data: encodedOf(c),
    }));
    return message;
  };

  return {
    async listCustomerChanges(req) {
      const { selection, limit } = checkRequest((check) => ({
        selection: cleanSelection(req, check),
        limit: check.pageSize(req.pageSize),
      }));
      const scope = { rpc: "ListCustomerChanges", query: [selection.customerId ?? "", req.filter] };
      const page = await pageTokens.readPage(scope, req.pageToken, (after) =>
        store.changes.list({ ...selection, after, limit }),
      );
      return { changes: page.items.map(toProto), nextPageToken: page.nextPageToken };
    },

    async *watchCustomerChanges(req, context) {
      const selection = checkRequest((check) => cleanSelection(req, check));
      const after = req.startAfter ? cursors.decode(req.startAfter, "start_after") : undefined;
      const messages = feed.watch({
        after,
        selection,
        matches: changeMatcher(selection),
        signal: context.signal,
      });
      const binary = !(context.requestHeader.get("content-type") ?? "").includes("json");
      for await (const message of messages) {
        const cursor = cursors.encode(message.position);
        yield binary
          ? binaryMessage(message.changes, cursor)
          : { changes: message.changes.map(toProto), cursor };
      }
    },
  };
}
