import { expect, it } from "vitest";
import { createChangeFeed } from "../../src/feed/change-feed.js";
import { createLogger } from "../../src/observability/log.js";

// The feed's lifecycle without a database: what the process does when it stops early.

it("closes a LISTEN that was still being set up when the feed closed, without an unhandled rejection", async () => {
  let listenDone = (_: { close(): Promise<void> }) => {};
  let closedListen = false;
  const feed = createChangeFeed({
    changes: {
      start: async () => ({ position: 0n, snapshot: { xmin: 1n, xmax: 1n, xip: [] } }),
      readFeed: async (after) => ({ changes: [], head: after, waiting: false }),
      replay: async () => ({ changes: [], purgedThrough: 0n }),
      purgedThrough: async () => 0n,
    },
    listen: () =>
      new Promise((resolve) => {
        listenDone = resolve;
      }),
    withSignal: (_signal, work) => work(),
    logger: createLogger({ level: "silent", destination: { write: () => {} } }),
  });
  feed.start();
  await feed.close();
  // LISTEN completes after the close, on a connection that is ending: closing it fails.
  listenDone({
    close: () => {
      closedListen = true;
      return Promise.reject(new Error("the connection ended"));
    },
  });
  await new Promise((r) => setTimeout(r, 20));
  expect(closedListen).toBe(true);
});
