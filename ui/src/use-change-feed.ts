import { Code, ConnectError } from "@connectrpc/connect";
import { useEffect, useRef, useState } from "preact/hooks";
import type { CustomerChange } from "../../gen/customerinventory/v1/resources_pb.js";
import { api } from "./api.js";

export type FeedState = "connecting" | "live" | "off";

/** Pauses before reconnecting, growing up to 10 s while the service is unreachable. */
const backoff = (attempt: number) => Math.min(10_000, 500 * 2 ** attempt);

/**
 * Follows WatchCustomerChanges for as long as the page is open: `onChanges` gets every
 * committed change, once, in order. A dropped stream resumes from the cursor of the last
 * message received, so nothing is missed across reconnects; `onGap` is called when the
 * cursor expired (the page should re-read everything). A new `token` starts again.
 */
export function useChangeFeed(options: {
  token: string;
  onChanges: (changes: CustomerChange[]) => void;
  onGap: () => void;
}): FeedState {
  const [state, setState] = useState<FeedState>("connecting");
  const handlers = useRef(options);
  handlers.current = options;

  useEffect(() => {
    const abort = new AbortController();
    const { signal } = abort;
    void (async () => {
      let cursor = "";
      for (let attempt = 0; !signal.aborted; attempt++) {
        try {
          for await (const message of api.watchCustomerChanges(
            { startAfter: cursor },
            { signal },
          )) {
            cursor = message.cursor;
            attempt = 0;
            setState("live");
            if (message.changes.length > 0) handlers.current.onChanges(message.changes);
          }
        } catch (err) {
          if (signal.aborted) return;
          const code = ConnectError.from(err).code;
          if (code === Code.Unauthenticated || code === Code.PermissionDenied) {
            setState("off");
            return;
          }
          if (code === Code.OutOfRange) {
            cursor = "";
            handlers.current.onGap();
          }
        }
        setState("connecting");
        await new Promise((resolve) => setTimeout(resolve, backoff(attempt)));
      }
    })();
    return () => abort.abort();
  }, [options.token]);

  return state;
}
