import { setMaxListeners } from "node:events";
import http from "node:http";
import http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from "../config.js";
import type { CallLog } from "../observability/call-log.js";
import type { Logger } from "../observability/log.js";
import { createCors } from "./cors.js";
import type { NodeRequest, NodeResponse } from "./node-types.js";
import { createNodeHandler } from "./request-handler.js";
import type { StaticSite } from "./static-site.js";

export interface ServerDeps {
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
  /** Writes each call's log line (the interceptors' and the server's, for early refusals). */
  callLog: CallLog;
  logger: Logger;
  /** Largest request or response message, in bytes, after decompression. */
  maxMessageBytes: number;
  /** Origins browsers may call from (CORS); `*` for any, empty for none. */
  corsAllowedOrigins: readonly string[];
  /** Serve TLS with this certificate chain and key (ALPN: h2 and http/1.1); else cleartext. */
  tls?: { cert: Buffer; key: Buffer };
  /** Close HTTP/2 connections idle for this long, in milliseconds. Default 5 minutes. */
  idleTimeoutMs?: number;
  /** Timeouts for connections that never finish speaking, and the cap on open connections. */
  connectionLimits?: Partial<ConnectionLimits>;
  /** Unary gRPC calls on the fast path (see request-handler.ts). Default true. */
  grpcFastPath?: boolean;
  /** Plain HTTP GET resources next to the API, by path (e.g. `/metrics`). */
  plainRoutes?: Record<string, (res: NodeResponse) => Promise<void>>;
  /** The browser page's files, served at `/` next to the API. */
  staticSite?: StaticSite;
}

export interface Server {
  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(port: number, host: string): Promise<{ host: string; port: number }>;
  /**
   * Stops taking connections, sends GOAWAY so that clients open no new streams, and waits up
   * to `graceMs` for calls in flight; then cancels what is left. Resolves with whether every
   * connection closed within the grace (false: some were cut).
   */
  close(graceMs: number): Promise<boolean>;
}

/** What an HTTP/2 client with prior knowledge sends first (RFC 9113, 3.4). */
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * Reads the first bytes of a connection and hands it, bytes put back, to the HTTP/2 server
 * when they are the HTTP/2 preface and to the HTTP/1.1 server otherwise. Node's cleartext
 * HTTP/2 server does not fall back to HTTP/1.1 by itself.
 */
function dispatchByPreface(
  socket: net.Socket,
  h2: net.Server,
  h1: net.Server,
  firstByteTimeoutMs: number,
) {
  let seen = Buffer.alloc(0);
  // A connection that does not say which protocol it speaks in time holds a slot for nothing.
  const silent = setTimeout(() => socket.destroy(), firstByteTimeoutMs);
  socket.once("close", () => clearTimeout(silent));
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const compared = Math.min(seen.length, HTTP2_PREFACE.length);
    const isHttp2 = seen.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    if (isHttp2 && compared < HTTP2_PREFACE.length) return; // not decided yet
    clearTimeout(silent);
    socket.off("data", onData);
    socket.pause();
    socket.unshift(seen);
    // The HTTP/2 session reads what is buffered, then consumes the socket natively: it must
    // stay paused on the JavaScript side. The HTTP/1.1 server reads it as a stream.
    (isHttp2 ? h2 : h1).emit("connection", socket);
    if (!isHttp2) socket.resume();
  };
  socket.on("data", onData);
  socket.on("error", () => socket.destroy());
}

/**
 * An unstarted server that hands every request to the Connect router: gRPC, gRPC-Web and
 * the Connect protocol over cleartext HTTP/2 (prior knowledge), and Connect and gRPC-Web
 * over HTTP/1.1, all on one port.
 */
export function createServer(deps: ServerDeps): Server {
  const shutdown = new AbortController();
  // Every call in flight links its own signal to this one (and unlinks when it ends).
  setMaxListeners(0, shutdown.signal);
  const handler = createNodeHandler({
    routes: deps.routes,
    interceptors: deps.interceptors,
    readMaxBytes: deps.maxMessageBytes,
    writeMaxBytes: deps.maxMessageBytes,
    shutdownSignal: shutdown.signal,
    callLog: deps.callLog,
    grpcFastPath: deps.grpcFastPath ?? true,
  });
  const applyCors = createCors(deps.corsAllowedOrigins);
  const plainRoutes = deps.plainRoutes ?? {};
  const handle = (req: NodeRequest, res: NodeResponse) => {
    const plain = req.method === "GET" ? plainRoutes[req.url ?? ""] : undefined;
    if (plain) {
      plain(res).catch((err: unknown) => {
        deps.logger.error({ err, path: req.url }, "serving a plain route failed");
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
      return;
    }
    if (deps.staticSite?.serve(req, res)) return;
    if (applyCors(req, res)) return;
    try {
      handler(req, res);
    } catch (err) {
      // Nothing a client sends may end the process.
      deps.logger.error({ err, path: req.url }, "request handler failed");
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  };
  const settings = { maxConcurrentStreams: 256 };
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...deps.connectionLimits };
  const http1Timeouts = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks both timeouts only this often (30 s by default).
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
  };
  // With TLS, ALPN picks HTTP/2 or HTTP/1.1 and one secure server takes both. In cleartext,
  // a plain listener tells them apart by the first bytes (dispatchByPreface).
  const httpServer = deps.tls
    ? http2.createSecureServer(
        {
          ...deps.tls,
          allowHTTP1: true,
          settings,
          handshakeTimeout: limits.firstByteTimeoutMs,
          ...http1Timeouts,
        },
        handle,
      )
    : http2.createServer({ settings }, handle);
  const http1Server = http.createServer({ keepAliveTimeout: 5_000, ...http1Timeouts }, handle);
  const listener = deps.tls
    ? httpServer
    : net.createServer((socket) =>
        dispatchByPreface(socket, httpServer, http1Server, limits.firstByteTimeoutMs),
      );
  // Past the cap, Node closes new connections as they arrive; established ones go on.
  listener.maxConnections = limits.maxConnections;
  listener.on("drop", () => deps.logger.debug({}, "connection refused: MAX_CONNECTIONS reached"));
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<net.Socket>();
  listener.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const idleTimeoutMs = deps.idleTimeoutMs ?? 300_000;

  httpServer.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    // A connection with no stream for idleTimeoutMs is told to go away.
    session.setTimeout(idleTimeoutMs, () => session.close());
    // An abrupt client must never take the process down.
    session.on("error", (err) => deps.logger.debug({ err }, "http2 session error"));
  });
  httpServer.on("sessionError", (err) => deps.logger.debug({ err }, "http2 session error"));
  httpServer.on("clientError", (err: Error, socket: net.Socket) => {
    deps.logger.debug({ err }, "client connection error");
    socket.destroy();
  });
  http1Server.on("clientError", (err: Error, socket: net.Socket) => {
    deps.logger.debug({ err }, "client connection error");
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const status =
      (err as NodeJS.ErrnoException).code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? "408 Request Timeout"
        : "400 Bad Request";
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`, () => socket.destroy());
  });

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        listener.once("error", reject);
        listener.listen(port, host, () => {
          listener.off("error", reject);
          // The HTTP/1.1 server is handed connections instead of listening itself, and Node
          // starts enforcing headersTimeout and requestTimeout only on "listening".
          if (!deps.tls) http1Server.emit("listening");
          const address = listener.address() as AddressInfo;
          resolve({ host: address.address, port: address.port });
        });
      });
    },

    async close(graceMs) {
      const closed = Promise.all(
        [...new Set<net.Server>([listener, httpServer, http1Server])].map(
          (server) => new Promise<void>((resolve) => server.close(() => resolve())),
        ),
      );
      for (const session of sessions) session.close();
      http1Server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), graceMs);
      });
      const drained = (await Promise.race([closed, deadline])) !== "timeout";
      if (!drained) {
        shutdown.abort();
        for (const session of sessions) session.destroy();
        http1Server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        await closed;
      }
      clearTimeout(timer);
      return drained;
    },
  };
}
