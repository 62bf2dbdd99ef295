import type { MessageInitShape } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import type {
  WatchCustomerChangesRequestSchema,
  WatchCustomerChangesResponse,
} from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import type { CustomerChange } from "../../gen/customerinventory/v1/resources_pb.js";
import type { Clients } from "./server.js";

export interface Watcher {
  /** Every message received so far. */
  messages: WatchCustomerChangesResponse[];
  /** Every change received so far, in order. */
  changes(): CustomerChange[];
  /** The cursor of the last message received. */
  cursor(): string;
  /** Resolves once `done(changes)` holds; fails after `timeoutMs` or if the stream ends first. */
  until(done: (changes: CustomerChange[]) => boolean, timeoutMs?: number): Promise<void>;
  /** How the stream ended, once it has: undefined while open, null when it ended without error. */
  ended(): ConnectError | null | undefined;
  /** Resolves with how the stream ended. */
  end(): Promise<ConnectError | null>;
  /** Cancels the stream and waits for it to end. */
  stop(): Promise<void>;
}

/** Opens a WatchCustomerChanges stream and collects it; resolves once its first message came. */
export async function startWatch(
  clients: Clients,
  request: MessageInitShape<typeof WatchCustomerChangesRequestSchema> = {},
  options: { headers?: Record<string, string> } = {},
): Promise<Watcher> {
  const abort = new AbortController();
  const messages: WatchCustomerChangesResponse[] = [];
  let ending: ConnectError | null | undefined;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  const finished = (async () => {
    try {
      for await (const message of clients.inventory.watchCustomerChanges(request, {
        signal: abort.signal,
        headers: options.headers,
      })) {
        messages.push(message);
        notify();
      }
      ending = null;
    } catch (err) {
      ending = ConnectError.from(err);
    }
    notify();
    return ending;
  })();
  const changes = () => messages.flatMap((m) => m.changes);
  const until = (done: (c: CustomerChange[]) => boolean, timeoutMs = 5_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`watch: condition not met in ${timeoutMs} ms (${changes().length} changes)`),
          ),
        timeoutMs,
      );
      const check = () => {
        if (done(changes())) {
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        } else if (ending !== undefined) {
          clearTimeout(timer);
          listeners.delete(check);
          reject(new Error(`watch ended: ${ending?.message ?? "without error"}`));
        }
      };
      listeners.add(check);
      check();
    });
  const watcher: Watcher = {
    messages,
    changes,
    cursor: () => messages[messages.length - 1]?.cursor ?? "",
    until,
    ended: () => ending,
    end: () => finished,
    async stop() {
      abort.abort();
      await finished;
    },
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("watch: no first message in 5 s")), 5_000);
    const first = () => {
      if (messages.length > 0 || ending !== undefined) {
        clearTimeout(timer);
        listeners.delete(first);
        if (messages.length > 0) resolve();
        else reject(ending ?? new Error("watch ended without a message"));
      }
    };
    listeners.add(first);
    first();
  });
  return watcher;
}
