import type { LogLevel } from "./log.js";

export interface Config {
  /** Address to listen on. Default 127.0.0.1. */
  readonly host: string;
  /** TCP port. Default 8080; 0 picks a free one. */
  readonly port: number;
  /** PostgreSQL URL; unset means start the embedded PostgreSQL under dataDir. */
  readonly databaseUrl: string | undefined;
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

/** Reads the configuration once from `env`, failing fast with a message that names the variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const logLevel = (env.LOG_LEVEL || "info") as LogLevel;
  if (!logLevels.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${logLevels.join(", ")} (got "${logLevel}")`);
  }
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError("DATABASE_URL must be a postgres:// or postgresql:// URL");
  }
  const secret = env.PAGE_TOKEN_SECRET || undefined;
  if (secret !== undefined && secret.length < 32) {
    throw new ConfigError("PAGE_TOKEN_SECRET must be at least 32 characters");
  }
  const corsAllowedOrigins = (env.CORS_ORIGINS         ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter((o) => o !== "");
  for (const origin of corsAllowedOrigins) {
    if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(
        `CORS_ORIGINS         must list origins such as https://ops.example.com or * (got "${origin}")`,
      );
    }
  }
  const fastPath = (env.GRPC_FAST_PATH || "true").toLowerCase();
  if (fastPath !== "true" && fastPath !== "false") {
    throw new ConfigError(`GRPC_FAST_PATH must be true or false (got "${env.GRPC_FAST_PATH}")`);
  }
  const certFile = env.TLS_CERT_FILE || undefined;
  const keyFile = env.TLS_KEY_FILE || undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError("TLS_CERT_FILE and TLS_KEY_FILE must be set together");
  }
  return Object.freeze({
    host: env.HOST || "127.0.0.1",
    port: integer(env, "PORT", 8080, 0, 65535),
    databaseUrl,
    dataDir: env.DATA_DIR || "./.data",
    logLevel,
    dbPoolSize: integer(env, "DB_POOL_SIZE", 10, 1, 1000),
    dbStatementTimeoutMs: integer(env, "DB_STATEMENT_TIMEOUT_MS", 10_000, 1, 3_600_000),
    maxMessageBytes: integer(env, "MAX_MESSAGE_BYTES", 4 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    shutdownGraceMs: integer(env, "SHUTDOWN_GRACE_MS", 10_000, 0, 600_000),
    pageTokenSecret: secret === undefined ? undefined : Buffer.from(secret, "utf8"),
    corsAllowedOrigins: Object.freeze(corsAllowedOrigins),
    grpcFastPath: fastPath === "true",
    tls: certFile && keyFile ? Object.freeze({ certFile, keyFile }) : undefined,
    idleTimeoutMs: integer(env, "IDLE_TIMEOUT_MS", 300_000, 1_000, 86_400_000),
  });
}

/** The URL with its password hidden, for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable URL)";
  }
}
