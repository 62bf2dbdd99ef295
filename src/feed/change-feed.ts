import type { CustomerChange } from "../domain/types.js";
import { cursorExpired, shuttingDown, watcherTooSlow } from "../errors.js";
import type { Logger } from "../observability/log.js";
import {
  type ChangeSelection,
  type ChangeStore,
  committedIn,
  type FeedSnapshot,
} from "../store/changes.js";

/** Where a watcher is in the feed: every change at or below `position` is behind it. */
export interface FeedPosition {
  position: bigint;
  /** A stream started without a cursor skips the changes this snapshot shows committed. */
  skip?: FeedSnapshot;
}

/** One message of a watch: matching changes (none in a heartbeat) and where they lead. */
export interface WatchMessage {
  changes: CustomerChange[];
  position: FeedPosition;
}

export interface WatchOptions {
  /** Undefined: start now (only changes committed after this call). */
  after: FeedPosition | undefined;
  /** What the watcher wants, for replays read from the database. */
  selection: ChangeSelection;
  /** The same selection, applied in memory to the changes every watcher shares. */
  matches: (change: CustomerChange) => boolean;
  /** The call's: aborts when its client goes away or its deadline passes. */
  signal: AbortSignal;
}

export interface ChangeFeedDeps {
  changes: Pick<ChangeStore, "readFeed" | "replay" | "start" | "purgedThrough">;
  /**
   * LISTENs for other processes' commits, calling `onNotify` with each payload; absent
   * (or failing) where the database cannot LISTEN, e.g. behind PgBouncer in transaction
   * mode: then polling alone delivers.
   */
  listen?: (onNotify: (payload: string) => void) => Promise<{ close(): Promise<void> }>;
  /** Tells the other processes that changes committed (NOTIFY with `payload`). */
  notify?: (payload: string) => Promise<void>;
  /** Runs `work` so that its statements are cancelled when `signal` aborts. */
  withSignal: <T>(signal: AbortSignal, work: () => Promise<T>) => Promise<T>;
  logger: Logger;
  /** The fallback: how often the feed is read without a notification. Default 500 ms. */
  pollIntervalMs?: number;
  /** A watcher that was sent nothing for this long gets a heartbeat. Default 15 s. */
  heartbeatMs?: number;
  /** Changes kept in memory for live watchers; one further behind is cut off. Default 4096. */
  bufferChanges?: number;
  /** Changes per read of the database. Default 500. */
  batchSize?: number;
  /** Changes per message at most. Default 100. */
  maxChangesPerMessage?: number;
}

export interface FeedStats {
  watchers: number;
  buffered: number;
  /** Reads of the feed by this process's one reader, however many watch. */
  reads: number;
  /** Database reads by watchers behind the buffer (resumed cursors). */
  replays: number;
}

export interface ChangeFeed {
  /** Starts reading (once the database is ready). */
  start(): void;
  /** A write of this process committed changes: read now, and tell the other processes. */
  changed(): void;
  watch(options: WatchOptions): AsyncGenerator<WatchMessage>;
  /** For metrics: open watches, buffered changes, reads of the feed and watcher replays. */
  stats(): FeedStats;
  /** Ends every watch with UNAVAILABLE and stops reading. */
  close(): Promise<void>;
}

/**
 * The change feed of one process: one reader follows the database (woken by LISTEN/NOTIFY,
 * polling as the fallback) into a bounded buffer shared by every watcher of the process, so
 * a change costs one query however many watch. Watchers behind the buffer (a resumed cursor)
 * replay from the database on their own until they reach it; a live watcher that falls out
 * of it (its client stopped reading) is ended with RESOURCE_EXHAUSTED. Nothing is queued per
 * watcher: a watcher's stream only holds what its transport holds.
 */
/** Other processes hear of this one's commits at least this far apart. */
const NOTIFY_INTERVAL_MS = 5;
/**
 * How far apart commits wake the reader: under a stream of changes each watcher gets one
 * message per read with all of them, not one message per change. What watchers cost is
 * mostly per message (Connect's stream pipeline), so the interval grows with the watchers:
 * 25 ms up to 250 watchers, then 1 ms more per 10 (1,000 watchers: 100 ms, about 10,000
 * messages a second), at most 250 ms.
 */
const readIntervalMs = (watchers: number) => Math.min(250, Math.max(25, watchers / 10));

export function createChangeFeed(deps: ChangeFeedDeps): ChangeFeed {
  const pollIntervalMs = deps.pollIntervalMs ?? 500;
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const bufferChanges = deps.bufferChanges ?? 4096;
  const batchSize = deps.batchSize ?? 500;
  const maxPerMessage = deps.maxChangesPerMessage ?? 100;
  // Tells this process's own notifications apart from the others'.
  const self = `${process.pid}-${Math.random().toString(36).slice(2)}`;

  /** Everything at or below `head` has been read: the feed is final there. */
  let head: bigint | undefined;
  /** The buffer holds the changes in (floor, head], oldest first. */
  let floor = 0n;
  let buffer: CustomerChange[] = [];
  let closed = false;
  let started = false;
  let reading = false;
  let readAgain = false;
  let poll: NodeJS.Timeout | undefined;
  let soon: NodeJS.Timeout | undefined;
  let paced: NodeJS.Timeout | undefined;
  let lastRead = 0;
  let listening: { close(): Promise<void> } | undefined;
  let watchers = 0;
  let reads = 0;
  let replays = 0;
  const wakers = new Set<() => void>();

  const wakeAll = () => {
    for (const wake of [...wakers]) wake();
  };

  function keepBounded() {
    const excess = buffer.length - bufferChanges;
    if (excess <= 0) return;
    floor = (buffer[excess - 1] as CustomerChange).sequence;
    buffer = buffer.slice(excess);
  }

  async function read(): Promise<void> {
    if (closed || !started) return;
    if (reading) {
      readAgain = true;
      return;
    }
    reading = true;
    try {
      do {
        readAgain = false;
        lastRead = Date.now();
        if (head === undefined) {
          head = (await deps.changes.start()).position;
          floor = head;
        }
        const from: bigint = head;
        reads += 1;
        const result = await deps.changes.readFeed(from, batchSize);
        if (closed) return;
        buffer.push(...result.changes);
        keepBounded();
        head = result.head;
        if (head > from) wakeAll();
        if (result.changes.length === batchSize) readAgain = true;
        else if (result.waiting) readSoon();
      } while (readAgain && !closed);
    } catch (err) {
      deps.logger.warn({ err }, "reading the change feed failed; retrying at the next poll");
    } finally {
      reading = false;
    }
  }

  /** A read soon after a commit: at most one per readIntervalMs(watchers). */
  function readPaced() {
    if (paced) return;
    const wait = lastRead + readIntervalMs(watchers) - Date.now();
    if (wait <= 0) {
      void read();
      return;
    }
    paced = setTimeout(() => {
      paced = undefined;
      void read();
    }, wait);
    paced.unref();
  }

  /** Changes committed above the bound wait for an older transaction: look again shortly. */
  function readSoon() {
    if (soon) return;
    soon = setTimeout(() => {
      soon = undefined;
      void read();
    }, 20);
    soon.unref();
  }

  let notifying = false;
  let notifyAgain = false;
  /**
   * At most one NOTIFY in flight per process, and one per NOTIFY_INTERVAL_MS: the commits
   * in between share the next one. (A NOTIFY is a transaction of its own, committed after
   * the change: inside the change's transaction it would serialize every commit on
   * PostgreSQL's notification queue lock.)
   */
  function tellOthers() {
    if (!deps.notify || closed) return;
    if (notifying) {
      notifyAgain = true;
      return;
    }
    notifying = true;
    const sent = Date.now();
    deps
      .notify(self)
      .catch((err: unknown) => deps.logger.warn({ err }, "NOTIFY of a change failed"))
      .finally(() => {
        const pause = NOTIFY_INTERVAL_MS - (Date.now() - sent);
        setTimeout(
          () => {
            notifying = false;
            if (notifyAgain) {
              notifyAgain = false;
              tellOthers();
            }
          },
          Math.max(0, pause),
        ).unref();
      });
  }

  /** Resolves when the head moves, the feed closes, `signal` aborts or `ms` pass. */
  function nextEvent(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakers.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakers.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Index of the first buffered change after `position`. */
  function firstAfter(position: bigint): number {
    let lo = 0;
    let hi = buffer.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((buffer[mid] as CustomerChange).sequence <= position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async function* watch(options: WatchOptions): AsyncGenerator<WatchMessage> {
    const { signal, selection, matches } = options;
    if (closed) throw shuttingDown();
    const start =
      options.after ??
      (await deps.withSignal(signal, async () => {
        const now = await deps.changes.start();
        return { position: now.position, skip: now.snapshot };
      }));
    let { position, skip } = start;
    // An expired cursor fails the call itself, before its stream has sent anything.
    if (options.after && (await deps.withSignal(signal, deps.changes.purgedThrough)) > position) {
      throw cursorExpired();
    }
    /** Once a watcher has read from the buffer, falling out of it means it stopped reading. */
    let live = false;
    watchers += 1;
    void read();
    try {
      // At once: the watcher knows its stream is open and holds a cursor before any change.
      yield { changes: [], position: { position, skip } };
      let lastSent = Date.now();
      for (;;) {
        if (closed) throw shuttingDown();
        if (signal.aborted) throw signal.reason;
        const known = head;
        if (known === undefined || position >= known) {
          const wait = heartbeatMs - (Date.now() - lastSent);
          if (wait > 0) {
            await nextEvent(wait, signal);
            continue;
          }
          yield { changes: [], position: { position, skip } };
          lastSent = Date.now();
          continue;
        }
        let candidates: CustomerChange[];
        let through: bigint;
        if (position >= floor) {
          live = true;
          candidates = [];
          through = known;
          for (let i = firstAfter(position); i < buffer.length; i++) {
            const change = buffer[i] as CustomerChange;
            if (matches(change)) candidates.push(change);
            if (candidates.length === maxPerMessage) {
              through = change.sequence;
              break;
            }
          }
        } else {
          if (live) throw watcherTooSlow(bufferChanges);
          const from = position;
          replays += 1;
          const replayed = await deps.withSignal(signal, () =>
            deps.changes.replay({ ...selection, after: from, through: known, limit: batchSize }),
          );
          if (replayed.purgedThrough > from) throw cursorExpired();
          candidates = replayed.changes;
          const last = candidates[candidates.length - 1];
          through = candidates.length === batchSize && last ? last.sequence : known;
        }
        const skipped = skip;
        const fresh = skipped
          ? candidates.filter((c) => !committedIn(skipped, c.sequence))
          : candidates;
        position = through;
        // The start snapshot matters only below its xmax: every id above had not started.
        const skipAt = (at: bigint) => (skipped && at < skipped.xmax << 16n ? skipped : undefined);
        skip = skipAt(position);
        for (let i = 0; i < fresh.length; i += maxPerMessage) {
          const part = fresh.slice(i, i + maxPerMessage);
          const at =
            i + maxPerMessage >= fresh.length
              ? position
              : (part[part.length - 1] as CustomerChange).sequence;
          yield { changes: part, position: { position: at, skip: skipAt(at) } };
          lastSent = Date.now();
        }
      }
    } finally {
      watchers -= 1;
    }
  }

  return {
    start() {
      if (started || closed) return;
      started = true;
      poll = setInterval(() => void read(), pollIntervalMs);
      poll.unref();
      void read();
      if (deps.listen) {
        deps
          .listen((payload) => {
            if (payload !== self && watchers > 0) readPaced();
          })
          .then((l) => {
            // Closed while LISTEN was being set up: its connection may be ending already.
            if (closed) l.close().catch(() => {});
            else listening = l;
          })
          .catch((err: unknown) =>
            deps.logger.warn(
              { err },
              "LISTEN is not available (a transaction-mode pooler?): the change feed polls",
            ),
          );
      }
    },
    changed() {
      // Without a watcher here, the poll keeps the head fresh enough for the next one.
      if (watchers > 0) readPaced();
      tellOthers();
    },
    watch,
    stats: () => ({ watchers, buffered: buffer.length, reads, replays }),
    async close() {
      closed = true;
      clearInterval(poll);
      clearTimeout(soon);
      clearTimeout(paced);
      wakeAll();
      await listening?.close().catch(() => {});
    },
  };
}
