import type { LogLevel } from "./observability/log.js";
import { hostUrls, sessionAttrsOf } from "./store/postgres-url.js";

export interface Config {
  /** Address to listen on. Default 127.0.0.1. */
  readonly host: string;
  /** TCP port. Default 8080; 0 picks a free one. */
  readonly port: number;
  /**
   * PostgreSQL URL; unset means start the embedded PostgreSQL under dataDir. It may list
   * several hosts (a cluster): the service then connects to whichever is the primary
   * (target_session_attrs=primary, added when the URL sets none).
   */
  readonly databaseUrl: string | undefined;
  /** Standbys to serve reads (DATABASE_READ_URL, one or several hosts); unset: none. */
  readonly databaseReadUrl: string | undefined;
  /** Connections in each standby's pool (DB_READ_POOL_SIZE, default DB_POOL_SIZE). */
  readonly dbReadPoolSize: number;
  /** A standby with older data is not read from (REPLICA_MAX_LAG_MS, default 1000). */
  readonly replicaMaxLagMs: number;
  /** How long a read with a consistency token waits for a standby (REPLICA_WAIT_MS, default 20). */
  readonly replicaWaitMs: number;
  /** Where the embedded PostgreSQL keeps its data. Default `./.data`. */
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  /** Database connections in the pool. Default 10. */
  readonly dbPoolSize: number;
  /** Cap on any one SQL statement or lock wait, in milliseconds. Default 10000. */
  readonly dbStatementTimeoutMs: number;
  /** Largest request or response message, in bytes (after decompression). Default 4 MiB. */
  readonly maxMessageBytes: number;
  /** How long shutdown waits for calls in flight, in milliseconds. Default 10000. */
  readonly shutdownGraceMs: number;
  /** Key that signs page tokens; unset means one generated once and kept in the database. */
  readonly pageTokenSecret: Buffer | undefined;
  /** Origins browsers may call from (CORS_ORIGINS, comma-separated; `*` for any). */
  readonly corsAllowedOrigins: readonly string[];
  /** Unary gRPC calls on the fast path (GRPC_FAST_PATH, default true). */
  readonly grpcFastPath: boolean;
  /** PEM certificate chain and key files (TLS_CERT_FILE, TLS_KEY_FILE); unset: cleartext. */
  readonly tls: { certFile: string; keyFile: string } | undefined;
  /** HTTP/2 connections idle this long are closed (IDLE_TIMEOUT_MS, default 300000). */
  readonly idleTimeoutMs: number;
  /** Deadline of calls that send none (DEFAULT_DEADLINE_MS, default 10000). */
  readonly defaultDeadlineMs: number;
  /** Longer deadlines are cut to this (MAX_DEADLINE_MS, default 60000). */
  readonly maxDeadlineMs: number;
  /** Statements and transactions that may wait for a pool connection (DB_MAX_WAITING, default 1000). */
  readonly dbMaxWaiting: number;
  /** How long opening a database connection may take (DB_CONNECT_TIMEOUT_MS, default 5000). */
  readonly dbConnectTimeoutMs: number;
  /** Prepared statements (DB_PREPARE, default true); false behind PgBouncer in transaction mode. */
  readonly dbPrepare: boolean;
  /** The built Customer Inventory page (UI_DIR, default `./ui/dist`). */
  readonly uiDir: string;
  /** How long a connection may take to speak, and how many may be open at once. */
  readonly connectionLimits: ConnectionLimits;
  /** Bearer-token authentication; undefined: none (then only loopback addresses are allowed). */
  readonly auth: AuthConfig | undefined;
  /** How long change records are kept (CHANGE_RETENTION_DAYS, default 90). */
  readonly changeRetentionDays: number;
  /** Heartbeat of idle watch streams (WATCH_HEARTBEAT_MS, default 15000). */
  readonly watchHeartbeatMs: number;
  /** How often the change feed is read without a notification (CHANGE_POLL_MS, default 500). */
  readonly changePollMs: number;
  /** Changes buffered for live watchers; one further behind is cut off (WATCH_BUFFER_CHANGES, default 4096). */
  readonly watchBufferChanges: number;
  /** LISTEN for other replicas' changes (DB_LISTEN, default true); false behind a transaction-mode pooler. */
  readonly dbListen: boolean;
  /** OTLP/HTTP endpoint for traces (OTEL_EXPORTER_OTLP_ENDPOINT); unset: no tracing. */
  readonly otelEndpoint: string | undefined;
  /** The traces' service.name (OTEL_SERVICE_NAME, default customer-inventory). */
  readonly otelServiceName: string;
}

/** Bounds on connections that never finish speaking (the slowloris family). */
export interface ConnectionLimits {
  /** A new connection's first request bytes (HTTP/2 preface, request line, TLS hello) must
   * arrive within this (FIRST_BYTE_TIMEOUT_MS, default 10000). */
  readonly firstByteTimeoutMs: number;
  /** An HTTP/1.1 request's headers must be complete this long after its first byte
   * (HEADERS_TIMEOUT_MS, default 10000). */
  readonly headersTimeoutMs: number;
  /** A whole HTTP/1.1 request, body included, must arrive within this
   * (REQUEST_TIMEOUT_MS, default 60000). */
  readonly requestTimeoutMs: number;
  /** Connections open at once; more are closed as they arrive (MAX_CONNECTIONS, default 10000). */
  readonly maxConnections: number;
}

/** The connection limits when the environment sets none. */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({
  firstByteTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  maxConnections: 10_000,
});

/** How JWTs are verified: one HS256 secret or a JWKS file, and the claims they must carry. */
export interface AuthConfig {
  /** AUTH_JWT_SECRET: HS256 key, at least 32 characters. */
  readonly secret: string | undefined;
  /** AUTH_JWKS_FILE: a JSON Web Key Set of the issuer's public keys. */
  readonly jwksFile: string | undefined;
  /** AUTH_ISSUER: required `iss`. */
  readonly issuer: string;
  /** AUTH_AUDIENCE: required `aud`. */
  readonly audience: string;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const logLevels: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number) {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

function boolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean) {
  const raw = (env[name] || String(fallback)).toLowerCase();
  if (raw !== "true" && raw !== "false") {
    throw new ConfigError(`${name} must be true or false (got "${env[name]}")`);
  }
  return raw === "true";
}

/** 127.0.0.0/8, ::1 and localhost: addresses no other machine can reach. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

function loadAuth(env: NodeJS.ProcessEnv, host: string): AuthConfig | undefined {
  const secret = env.AUTH_JWT_SECRET || undefined;
  const jwksFile = env.AUTH_JWKS_FILE || undefined;
  const issuer = env.AUTH_ISSUER || undefined;
  const audience = env.AUTH_AUDIENCE || undefined;
  if (!secret && !jwksFile) {
    if (issuer || audience) {
      throw new ConfigError("AUTH_ISSUER and AUTH_AUDIENCE need AUTH_JWT_SECRET or AUTH_JWKS_FILE");
    }
    if (!isLoopback(host)) {
      throw new ConfigError(
        `refusing to listen on ${host} without authentication: set AUTH_JWT_SECRET or AUTH_JWKS_FILE (with AUTH_ISSUER and AUTH_AUDIENCE), or HOST=127.0.0.1`,
      );
    }
    return undefined;
  }
  if (secret && jwksFile) {
    throw new ConfigError("set one of AUTH_JWT_SECRET and AUTH_JWKS_FILE, not both");
  }
  if (secret !== undefined && secret.length < 32) {
    throw new ConfigError("AUTH_JWT_SECRET must be at least 32 characters");
  }
  if (!issuer || !audience) {
    throw new ConfigError("authentication needs AUTH_ISSUER and AUTH_AUDIENCE");
  }
  return Object.freeze({ secret, jwksFile, issuer, audience });
}

/** Reads the configuration once from `env`, failing fast with a message that names the variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const logLevel = (env.LOG_LEVEL || "info") as LogLevel;
  if (!logLevels.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${logLevels.join(", ")} (got "${logLevel}")`);
  }
  const databaseUrl = primaryUrl(postgresUrl(env, "DATABASE_URL"));
  const databaseReadUrl = postgresUrl(env, "DATABASE_READ_URL");
  if (databaseReadUrl && !databaseUrl) {
    throw new ConfigError("DATABASE_READ_URL needs DATABASE_URL: standbys of which primary?");
  }
  const secret = env.PAGE_TOKEN_SECRET || undefined;
  if (secret !== undefined && secret.length < 32) {
    throw new ConfigError("PAGE_TOKEN_SECRET must be at least 32 characters");
  }
  if (secret === undefined && env.NODE_ENV === "production") {
    throw new ConfigError(
      "PAGE_TOKEN_SECRET is required in production (NODE_ENV=production): every replica must sign page tokens with the same key",
    );
  }
  const corsAllowedOrigins = (env.CORS_ORIGINS ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter((o) => o !== "");
  for (const origin of corsAllowedOrigins) {
    if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(
        `CORS_ORIGINS must list origins such as https://ops.example.com or * (got "${origin}")`,
      );
    }
  }
  const certFile = env.TLS_CERT_FILE || undefined;
  const keyFile = env.TLS_KEY_FILE || undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError("TLS_CERT_FILE and TLS_KEY_FILE must be set together");
  }
  const host = env.HOST || "127.0.0.1";
  const defaultDeadlineMs = integer(env, "DEFAULT_DEADLINE_MS", 10_000, 1, 3_600_000);
  const maxDeadlineMs = integer(env, "MAX_DEADLINE_MS", 60_000, 1, 3_600_000);
  if (defaultDeadlineMs > maxDeadlineMs) {
    throw new ConfigError("DEFAULT_DEADLINE_MS must not exceed MAX_DEADLINE_MS");
  }
  return Object.freeze({
    host,
    port: integer(env, "PORT", 8080, 0, 65535),
    databaseUrl,
    databaseReadUrl,
    dbReadPoolSize: integer(
      env,
      "DB_READ_POOL_SIZE",
      integer(env, "DB_POOL_SIZE", 10, 1, 1000),
      1,
      1000,
    ),
    replicaMaxLagMs: integer(env, "REPLICA_MAX_LAG_MS", 1_000, 0, 3_600_000),
    replicaWaitMs: integer(env, "REPLICA_WAIT_MS", 20, 0, 10_000),
    dataDir: env.DATA_DIR || "./.data",
    uiDir: env.UI_DIR || "./ui/dist",
    logLevel,
    dbPoolSize: integer(env, "DB_POOL_SIZE", 10, 1, 1000),
    dbStatementTimeoutMs: integer(env, "DB_STATEMENT_TIMEOUT_MS", 10_000, 1, 3_600_000),
    maxMessageBytes: integer(env, "MAX_MESSAGE_BYTES", 4 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    shutdownGraceMs: integer(env, "SHUTDOWN_GRACE_MS", 10_000, 0, 600_000),
    pageTokenSecret: secret === undefined ? undefined : Buffer.from(secret, "utf8"),
    corsAllowedOrigins: Object.freeze(corsAllowedOrigins),
    grpcFastPath: boolean(env, "GRPC_FAST_PATH", true),
    tls: certFile && keyFile ? Object.freeze({ certFile, keyFile }) : undefined,
    idleTimeoutMs: integer(env, "IDLE_TIMEOUT_MS", 300_000, 1_000, 86_400_000),
    defaultDeadlineMs,
    maxDeadlineMs,
    dbMaxWaiting: integer(env, "DB_MAX_WAITING", 1000, 0, 1_000_000),
    dbConnectTimeoutMs: integer(env, "DB_CONNECT_TIMEOUT_MS", 5_000, 100, 600_000),
    dbPrepare: boolean(env, "DB_PREPARE", true),
    connectionLimits: Object.freeze({
      firstByteTimeoutMs: integer(
        env,
        "FIRST_BYTE_TIMEOUT_MS",
        DEFAULT_CONNECTION_LIMITS.firstByteTimeoutMs,
        100,
        600_000,
      ),
      headersTimeoutMs: integer(
        env,
        "HEADERS_TIMEOUT_MS",
        DEFAULT_CONNECTION_LIMITS.headersTimeoutMs,
        100,
        600_000,
      ),
      requestTimeoutMs: integer(
        env,
        "REQUEST_TIMEOUT_MS",
        DEFAULT_CONNECTION_LIMITS.requestTimeoutMs,
        100,
        3_600_000,
      ),
      maxConnections: integer(
        env,
        "MAX_CONNECTIONS",
        DEFAULT_CONNECTION_LIMITS.maxConnections,
        1,
        1_000_000,
      ),
    }),
    auth: loadAuth(env, host),
    changeRetentionDays: integer(env, "CHANGE_RETENTION_DAYS", 90, 1, 36_500),
    watchHeartbeatMs: integer(env, "WATCH_HEARTBEAT_MS", 15_000, 100, 3_600_000),
    changePollMs: integer(env, "CHANGE_POLL_MS", 500, 10, 60_000),
    watchBufferChanges: integer(env, "WATCH_BUFFER_CHANGES", 4096, 100, 1_000_000),
    dbListen: boolean(env, "DB_LISTEN", true),
    otelEndpoint: httpUrl(env, "OTEL_EXPORTER_OTLP_ENDPOINT"),
    otelServiceName: env.OTEL_SERVICE_NAME || "customer-inventory",
  });
}

function httpUrl(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const url = env[name] || undefined;
  if (url && !/^https?:\/\/[^/\s]+/.test(url)) {
    throw new ConfigError(`${name} must be an http:// or https:// URL`);
  }
  return url;
}

function postgresUrl(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const url = env[name] || undefined;
  if (url && !/^postgres(ql)?:\/\/[^/]*\/?/.test(url)) {
    throw new ConfigError(`${name} must be a postgres:// or postgresql:// URL`);
  }
  return url;
}

/**
 * A URL of several hosts must reach the primary. postgres.js's `read-write` takes a standby
 * for one on PostgreSQL 14 and later, and `read-only` never connects (porsager/postgres#815,
 * measured in ../shared/research/ha-cluster.md): only `primary` is right for writes.
 */
function primaryUrl(url: string | undefined): string | undefined {
  if (!url) return url;
  const attrs = sessionAttrsOf(url);
  if (attrs !== undefined && attrs !== "primary") {
    throw new ConfigError(
      `DATABASE_URL: target_session_attrs=${attrs} does not find the primary reliably with this driver; use target_session_attrs=primary`,
    );
  }
  if (attrs === undefined && hostUrls(url).length > 1) {
    return `${url}${url.includes("?") ? "&" : "?"}target_session_attrs=primary`;
  }
  return url;
}

/** The URL with its password hidden, for logs (also a URL that lists several hosts). */
export function redactUrl(url: string): string {
  return url.replace(/^([^/]*\/\/[^:@/]*):[^@/]*@/, "$1:***@");
}
