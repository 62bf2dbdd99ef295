import type { Logger } from "./log.js";

/** Whether the service can serve: the database answers and no shutdown has begun. */
export interface Health {
  readonly serving: boolean;
  readonly shuttingDown: boolean;
  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: (serving: boolean) => void): () => void;
  /** NOT_SERVING from now on: load balancers stop sending calls before the server closes. */
  markShuttingDown(): void;
  /** Probes the database now; resolves when the answer is in. */
  probeNow(): Promise<void>;
  /** Starts probing every `intervalMs` (the server does as it starts listening). */
  start(): void;
  /** Stops probing. */
  stop(): void;
}

export interface HealthDeps {
  /** Resolves when the database answers; rejects (or takes longer than `timeoutMs`) when not. */
  probe: () => Promise<void>;
  intervalMs: number;
  timeoutMs: number;
  logger: Logger;
}

/**
 * Once started, probes the database every `intervalMs` and tells subscribers when serving
 * changes. Creating it starts nothing.
 */
export function createHealth(deps: HealthDeps): Health {
  let databaseUp = false; // until a probe says otherwise
  let shuttingDown = false;
  const listeners = new Set<(serving: boolean) => void>();
  const serving = () => databaseUp && !shuttingDown;

  let everServed = false;
  const set = (update: () => void) => {
    const before = serving();
    update();
    const after = serving();
    if (after === before) return;
    // The first SERVING is the normal start, not news for whoever watches warnings.
    if (after && !everServed) deps.logger.info({ serving: after }, "serving");
    else deps.logger.warn({ serving: after }, after ? "serving again" : "not serving");
    everServed ||= after;
    for (const listener of listeners) listener(after);
  };

  const probeOnce = async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("database probe timed out")), deps.timeoutMs);
    });
    try {
      await Promise.race([deps.probe(), timeout]);
      set(() => {
        databaseUp = true;
      });
    } catch (err) {
      if (databaseUp) deps.logger.warn({ err }, "database probe failed");
      set(() => {
        databaseUp = false;
      });
    } finally {
      clearTimeout(timer);
    }
  };

  let running = false;
  let interval: NodeJS.Timeout | undefined;

  return {
    get serving() {
      return serving();
    },
    get shuttingDown() {
      return shuttingDown;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    markShuttingDown() {
      const wasServing = serving();
      shuttingDown = true;
      if (wasServing) deps.logger.warn({ serving: false }, "not serving");
      // Told even if the service was not serving already: watchers end their streams.
      for (const listener of listeners) listener(false);
    },
    probeNow: probeOnce,
    start() {
      if (interval) return;
      interval = setInterval(() => {
        if (running) return;
        running = true;
        void probeOnce().finally(() => {
          running = false;
        });
      }, deps.intervalMs);
      interval.unref();
    },
    stop() {
      clearInterval(interval);
      interval = undefined;
    },
  };
}
