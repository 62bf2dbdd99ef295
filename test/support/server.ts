import { randomBytes } from "node:crypto";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { CustomerInventoryService } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { ServiceInstanceService } from "../../gen/customerinventory/v1/service_instance_service_pb.js";
import { type ChangeFeedSettings, createApp } from "../../src/app.js";
import type { ConnectionLimits } from "../../src/config.js";
import type { StaticSite } from "../../src/http/static-site.js";
import type { Authenticator } from "../../src/interceptors/auth.js";
import { createLogger } from "../../src/observability/log.js";
import type { Tracing } from "../../src/observability/tracing.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

/** Every protocol the one port serves: HTTP/2 unless the name says HTTP/1.1. */
export const transportKinds = [
  "connect-json",
  "connect-binary",
  "grpc-web",
  "grpc",
  "connect-json-http1",
  "grpc-web-http1",
] as const;
export type TransportKind = (typeof transportKinds)[number];

export interface Clients {
  inventory: Client<typeof CustomerInventoryService>;
  instances: Client<typeof ServiceInstanceService>;
}

export interface TestServer {
  baseUrl: string;
  port: number;
  database: TestDatabase;
  /** Every line the service logged, parsed. */
  logs: Record<string, unknown>[];
  transport(kind: TransportKind): Transport;
  clients(kind?: TransportKind): Clients;
  /**
   * Stops the server and drops its database. Fails if a call or stream is still open after
   * 2 s, unless `cutsOpenCalls` says why that is expected.
   */
  close(options?: { cutsOpenCalls?: string }): Promise<void>;
}

/** The whole service on a free port over a database of its own, as `npm start` wires it. */
export async function startTestServer(
  options: {
    poolSize?: number;
    /** PostgreSQL statement_timeout and lock_timeout (20 s by default). */
    statementTimeoutMs?: number;
    maxMessageBytes?: number;
    healthProbeIntervalMs?: number;
    corsAllowedOrigins?: string[];
    grpcFastPath?: boolean;
    tls?: { cert: Buffer; key: Buffer };
    idleTimeoutMs?: number;
    authenticator?: Authenticator;
    /** Signs page tokens; random by default. */
    pageTokenSecret?: Buffer;
    defaultDeadlineMs?: number;
    maxDeadlineMs?: number;
    /** Statements and transactions that may wait for a pool connection. */
    maxWaiting?: number;
    /** Where the service's pool connects, if not straight to its database (e.g. a proxy). */
    connectThrough?: (url: string) => string;
    /** Prepared statements (default true). */
    prepare?: boolean;
    /** The browser page, served at `/`. */
    staticSite?: StaticSite;
    connectionLimits?: Partial<ConnectionLimits>;
    changeFeed?: ChangeFeedSettings;
    tracing?: Tracing;
  } = {},
): Promise<TestServer> {
  const database = await createTestDatabase({
    poolSize: options.poolSize,
    statementTimeoutMs: options.statementTimeoutMs,
    maxWaiting: options.maxWaiting,
    connectThrough: options.connectThrough,
    prepare: options.prepare,
    tracing: options.tracing,
  });
  const logs: Record<string, unknown>[] = [];
  const server = createApp({
    database,
    tracing: options.tracing,
    logger: createLogger({
      level: "debug",
      destination: { write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) },
    }),
    pageTokenSecret: options.pageTokenSecret ?? randomBytes(32),
    maxMessageBytes: options.maxMessageBytes ?? 4 * 1024 * 1024,
    healthProbeIntervalMs: options.healthProbeIntervalMs,
    corsAllowedOrigins: options.corsAllowedOrigins,
    grpcFastPath: options.grpcFastPath,
    tls: options.tls,
    idleTimeoutMs: options.idleTimeoutMs,
    authenticator: options.authenticator,
    defaultDeadlineMs: options.defaultDeadlineMs,
    maxDeadlineMs: options.maxDeadlineMs,
    staticSite: options.staticSite,
    connectionLimits: options.connectionLimits,
    changeFeed: options.changeFeed,
  });
  const { port } = await server.listen(0, "127.0.0.1");
  const baseUrl = `${options.tls ? "https" : "http"}://127.0.0.1:${port}`;
  // Trust the test's own certificate.
  const nodeOptions = options.tls ? { ca: options.tls.cert } : {};
  const transports = new Map<TransportKind, Transport>();
  const transport = (kind: TransportKind): Transport => {
    let t = transports.get(kind);
    if (!t) {
      const httpVersion = kind.endsWith("-http1") ? "1.1" : "2";
      t =
        kind === "grpc"
          ? createGrpcTransport({ baseUrl, nodeOptions })
          : kind.startsWith("grpc-web")
            ? createGrpcWebTransport({ baseUrl, httpVersion, nodeOptions })
            : createConnectTransport({
                baseUrl,
                httpVersion,
                nodeOptions,
                useBinaryFormat: kind === "connect-binary",
              });
      transports.set(kind, t);
    }
    return t;
  };
  return {
    baseUrl,
    port,
    database,
    logs,
    transport,
    clients: (kind = "connect-json") => ({
      inventory: createClient(CustomerInventoryService, transport(kind)),
      instances: createClient(ServiceInstanceService, transport(kind)),
    }),
    async close(closeOptions = {}) {
      // A test that leaves a call or stream open fails here instead of being cut quietly.
      const drained = await server.close(2_000);
      await database.drop();
      if (!drained && !closeOptions.cutsOpenCalls) {
        throw new Error("a call or stream was still open 2 s after the test: end it in the test");
      }
    },
  };
}
