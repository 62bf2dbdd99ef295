import type { ConnectionLimits } from "./config.js";
import { createChangeFeed } from "./feed/change-feed.js";
import { createServer, type Server } from "./http/server.js";
import type { StaticSite } from "./http/static-site.js";
import { type Authenticator, createAuthInterceptor } from "./interceptors/auth.js";
import { createConsistencyInterceptor } from "./interceptors/consistency.js";
import { callerOf, changeAuthorOf } from "./interceptors/context.js";
import { createDeadlineInterceptor } from "./interceptors/deadline.js";
import { createErrorInterceptor } from "./interceptors/errors.js";
import { createReadinessInterceptor } from "./interceptors/readiness.js";
import { createTracingInterceptor } from "./interceptors/tracing.js";
import { createCallLog } from "./observability/call-log.js";
import { createHealth } from "./observability/health.js";
import type { Logger } from "./observability/log.js";
import { createMetrics } from "./observability/metrics.js";
import type { Tracing } from "./observability/tracing.js";
import { createRoutes } from "./routes.js";
import { createChangeCursorCodec } from "./service/change-cursor.js";
import { createPageTokenCodec } from "./service/page-token.js";
import { createTokenSigner } from "./service/signed-token.js";
import { CHANGES_CHANNEL } from "./store/changes.js";
import { type DatabaseHandle, pingDatabase } from "./store/db.js";
import { classifyDriverError } from "./store/driver-errors.js";
import { createStore } from "./store/index.js";

/** How the change feed follows the database (see feed/change-feed.ts). */
export interface ChangeFeedSettings {
  /** Poll interval, the fallback to LISTEN/NOTIFY. Default 500 ms. */
  pollIntervalMs?: number;
  /** Heartbeat of idle watchers. Default 15 s. */
  heartbeatMs?: number;
  /** Changes buffered for live watchers. Default 4096. */
  bufferChanges?: number;
  /** LISTEN for other processes' changes. Default true; false behind a transaction-mode pooler. */
  listen?: boolean;
}

export interface AppDeps {
  database: Pick<DatabaseHandle, "db" | "usage" | "withSignal"> &
    Partial<Pick<DatabaseHandle, "listen" | "background" | "watch" | "reads">>;
  logger: Logger;
  /** Signs page tokens: the same on every replica. A function if it is loaded after start. */
  pageTokenSecret: Buffer | (() => Buffer);
  /**
   * Resolves when the database is ready (migrated) to serve calls. Until then calls get
   * UNAVAILABLE at once and health says NOT_SERVING. Default: ready from the start.
   */
  ready?: Promise<unknown>;
  /** Verifies bearer tokens; without one every caller is anonymous. */
  authenticator?: Authenticator;
  /** Largest message, in bytes. */
  maxMessageBytes: number;
  /** Deadline of calls that send none. Default 10 s. */
  defaultDeadlineMs?: number;
  /** Longer deadlines are cut to this. Default 60 s. */
  maxDeadlineMs?: number;
  /** How often health checking probes the database. Default 2 s. */
  healthProbeIntervalMs?: number;
  /** Origins browsers may call from; default none. */
  corsAllowedOrigins?: readonly string[];
  /** Unary gRPC calls on the fast path. Default true. */
  grpcFastPath?: boolean;
  /** Serve TLS (ALPN h2 and http/1.1) with this certificate chain and key. */
  tls?: { cert: Buffer; key: Buffer };
  /** HTTP/2 connections idle this long are closed. Default 5 minutes. */
  idleTimeoutMs?: number;
  /** Timeouts for connections that never finish speaking, and the cap on open connections. */
  connectionLimits?: Partial<ConnectionLimits>;
  /** The Customer Inventory page, served at `/`. */
  staticSite?: StaticSite;
  changeFeed?: ChangeFeedSettings;
  /** A span per call (and, through the database, per statement); none without. */
  tracing?: Tracing;
}

/** The whole service wired together, as an unstarted server. */
export function createApp(deps: AppDeps): Server {
  const { db, watch, reads } = deps.database;
  let isReady = deps.ready === undefined;
  const ready = () => isReady;
  const health = createHealth({
    probe: async () => {
      if (!isReady) throw new Error("the database is not migrated yet");
      // NOT_SERVING only while no primary answers: standbys alone cannot serve writes.
      await (watch ? watch.probe() : pingDatabase(db));
    },
    intervalMs: deps.healthProbeIntervalMs ?? 2_000,
    timeoutMs: 1_000,
    logger: deps.logger,
  });
  const { listen } = deps.database;
  const feedSettings = deps.changeFeed ?? {};
  const store = createStore({
    db,
    reader: reads?.reader,
    background: deps.database.background,
    onChangesCommitted: () => feed.changed(),
  });
  const feed = createChangeFeed({
    changes: store.changes,
    listen:
      listen && feedSettings.listen !== false
        ? (onNotify) => listen(CHANGES_CHANNEL, onNotify)
        : undefined,
    notify: (payload) => store.changes.notify(payload),
    withSignal: deps.database.withSignal,
    logger: deps.logger,
    pollIntervalMs: feedSettings.pollIntervalMs,
    heartbeatMs: feedSettings.heartbeatMs,
    bufferChanges: feedSettings.bufferChanges,
  });
  const routes = createRoutes({
    store,
    pageTokens: createPageTokenCodec({ secret: deps.pageTokenSecret }),
    feed,
    cursors: createChangeCursorCodec(createTokenSigner(deps.pageTokenSecret)),
    callerOf,
    authorOf: changeAuthorOf,
    health,
  });
  const metrics = createMetrics({
    poolUsage: deps.database.usage,
    feedStats: feed.stats,
    reads,
    primaryReachable: watch?.reachable,
  });
  const callLog = createCallLog({ logger: deps.logger, onCall: metrics.recordCall });
  const server = createServer({
    routes,
    callLog,
    interceptors: [
      ...(deps.tracing ? [createTracingInterceptor(deps.tracing)] : []),
      createErrorInterceptor({ logger: deps.logger, callLog, classify: classifyDriverError }),
      ...(deps.authenticator ? [createAuthInterceptor({ authenticator: deps.authenticator })] : []),
      createReadinessInterceptor(ready),
      createDeadlineInterceptor({
        defaultMs: deps.defaultDeadlineMs ?? 10_000,
        maxMs: deps.maxDeadlineMs ?? 60_000,
        withSignal: deps.database.withSignal,
        outageSignal: watch?.outageSignal,
      }),
      // The watch follows the feed's one reader per process, which reads the primary.
      ...(reads ? [createConsistencyInterceptor(reads, new Set(["WatchCustomerChanges"]))] : []),
    ],
    logger: deps.logger,
    maxMessageBytes: deps.maxMessageBytes,
    corsAllowedOrigins: deps.corsAllowedOrigins ?? [],
    grpcFastPath: deps.grpcFastPath,
    tls: deps.tls,
    idleTimeoutMs: deps.idleTimeoutMs,
    connectionLimits: deps.connectionLimits,
    plainRoutes: { "/metrics": metrics.serve },
    staticSite: deps.staticSite,
  });
  void deps.ready?.then(() => {
    isReady = true;
    return health.probeNow();
  });
  return {
    async listen(port, host) {
      await health.probeNow();
      health.start();
      void (deps.ready ?? Promise.resolve()).then(() => feed.start());
      return server.listen(port, host);
    },
    async close(graceMs) {
      // Health watchers hear NOT_SERVING before the connections get GOAWAY.
      health.markShuttingDown();
      health.stop();
      // Watch streams end now, with UNAVAILABLE: they would never end by themselves.
      await feed.close();
      return server.close(graceMs);
    },
  };
}
