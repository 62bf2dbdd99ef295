import { readFile } from "node:fs/promises";
import { createApp } from "./app.js";
import { ConfigError, loadConfig, redactUrl } from "./config.js";
import { purgeExpiredChanges } from "./feed/retention.js";
import { createStaticSite, readSiteFiles } from "./http/static-site.js";
import { loadAuthenticator } from "./interceptors/auth.js";
import { createLogger, stdoutDestination } from "./observability/log.js";
import { createChangeStore } from "./store/changes.js";
import { createDatabase } from "./store/db.js";
import { EmbeddedPostgresError, startEmbeddedPostgres } from "./store/embedded-postgres.js";
import { purgeIdempotencyRecords } from "./store/idempotency.js";
import { migrateDatabase } from "./store/migrate.js";
import { loadOrCreateSecret } from "./store/secrets.js";

/** request_ids are kept at least 24 hours (the contract); records are purged after 48. */
const IDEMPOTENCY_RETENTION_MS = 48 * 3600 * 1000;
const PURGE_INTERVAL_MS = 3600 * 1000;

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel, destination: stdoutDestination() });

  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({
        dataDir: config.dataDir,
        database: "customer_inventory",
        onLog: (message) => logger.debug({ component: "postgres" }, message.trim()),
      });
  const databaseUrl = config.databaseUrl ?? (embedded?.url as string);
  // Loaded only when used: the OpenTelemetry SDK is megabytes of modules a service without a
  // collector would carry for nothing.
  const tracing =
    config.otelEndpoint === undefined
      ? undefined
      : (await import("./observability/tracing.js")).createTracing({
          endpoint: config.otelEndpoint,
          serviceName: config.otelServiceName,
        });

  const database = createDatabase({
    url: databaseUrl,
    poolSize: config.dbPoolSize,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    connectTimeoutSeconds: config.dbConnectTimeoutMs / 1000,
    maxWaiting: config.dbMaxWaiting,
    prepare: config.dbPrepare,
    readUrl: config.databaseReadUrl,
    tracing,
    readPoolSize: config.dbReadPoolSize,
    replicaMaxLagMs: config.replicaMaxLagMs,
    replicaWaitMs: config.replicaWaitMs,
  });
  // The server listens at once and says NOT_SERVING until the database is migrated: a
  // database that is down at start delays serving, not starting.
  let pageTokenSecret = config.pageTokenSecret;
  let ready = false;
  let stopping = false;
  let markReady = () => {};
  const databaseReady = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const prepareDatabase = async () => {
    for (let attempt = 1; !stopping; attempt++) {
      try {
        await migrateDatabase(databaseUrl, {
          connectTimeoutSeconds: config.dbConnectTimeoutMs / 1000,
        });
        pageTokenSecret ??= await loadOrCreateSecret(database.db, "page_token");
        ready = true;
        markReady();
        logger.info({}, "database ready");
        return;
      } catch (err) {
        const retryMs = Math.min(5_000, 250 * 2 ** Math.min(attempt, 5));
        logger.warn({ err, attempt, retryMs }, "database not ready; retrying");
        await new Promise((r) => setTimeout(r, retryMs));
      }
    }
  };
  const siteFiles = await readSiteFiles(config.uiDir);
  if (!siteFiles) {
    logger.warn(
      { uiDir: config.uiDir },
      "the Customer Inventory page is not built: run npm run build:ui (npm install and npm start do)",
    );
  }
  const server = createApp({
    database,
    tracing,
    logger,
    pageTokenSecret: () => pageTokenSecret as Buffer,
    ready: databaseReady,
    authenticator: config.auth && (await loadAuthenticator(config.auth)),
    maxMessageBytes: config.maxMessageBytes,
    defaultDeadlineMs: config.defaultDeadlineMs,
    maxDeadlineMs: config.maxDeadlineMs,
    corsAllowedOrigins: config.corsAllowedOrigins,
    grpcFastPath: config.grpcFastPath,
    tls: config.tls && {
      cert: await readFile(config.tls.certFile),
      key: await readFile(config.tls.keyFile),
    },
    idleTimeoutMs: config.idleTimeoutMs,
    connectionLimits: config.connectionLimits,
    staticSite: siteFiles && createStaticSite(siteFiles),
    changeFeed: {
      pollIntervalMs: config.changePollMs,
      heartbeatMs: config.watchHeartbeatMs,
      bufferChanges: config.watchBufferChanges,
      listen: config.dbListen,
    },
  });
  const address = await server.listen(config.port, config.host);
  logger.info(
    {
      host: address.host,
      port: address.port,
      database: redactUrl(databaseUrl),
      auth: Boolean(config.auth),
    },
    `listening on ${config.tls ? "https" : "http"}://${address.host}:${address.port} (gRPC, gRPC-Web and Connect over HTTP/2; Connect and gRPC-Web over HTTP/1.1${config.tls ? "; TLS" : ""}) with ${
      embedded ? `embedded PostgreSQL in ${config.dataDir}` : "PostgreSQL at DATABASE_URL"
    }${config.auth ? "; bearer tokens required" : "; no authentication (loopback only)"}${
      siteFiles ? "; the Customer Inventory page at /" : ""
    }`,
  );
  const preparing = prepareDatabase();

  const stopPurging = new AbortController();
  const changes = createChangeStore({ db: database.db, background: database.background });
  const purgeExpired = () => {
    if (!ready) return;
    purgeIdempotencyRecords(database.db, new Date(Date.now() - IDEMPOTENCY_RETENTION_MS)).catch(
      (err: unknown) => logger.warn({ err }, "purging idempotency records failed"),
    );
    purgeExpiredChanges({
      changes,
      retentionDays: config.changeRetentionDays,
      signal: stopPurging.signal,
    })
      .then((purged) => {
        if (purged > 0) logger.info({ purged }, "purged changes past their retention");
      })
      .catch((err: unknown) => logger.warn({ err }, "purging changes failed"));
  };
  void databaseReady.then(purgeExpired);
  const purge = setInterval(purgeExpired, PURGE_INTERVAL_MS);
  purge.unref();

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    clearInterval(purge);
    stopPurging.abort();
    try {
      await preparing;
      await server.close(config.shutdownGraceMs);
      await database.close();
      await tracing?.shutdown();
      await embedded?.stop();
      logger.info({}, "stopped");
      process.exit(0);
    } catch (err) {
      logger.error({ err }, "shutdown failed");
      process.exit(1);
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((err: unknown) => {
  if (err instanceof EmbeddedPostgresError) {
    // Says what failed, why and what to do: a stack would only bury it.
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(
    `start-up failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  if (err instanceof Error && err.cause) process.stderr.write(`caused by: ${String(err.cause)}\n`);
  process.exit(1);
});
