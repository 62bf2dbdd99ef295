import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "./log.js";

export interface ServerDeps {
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
  logger: Logger;
  /** Largest request or response message, in bytes, after decompression. */
  maxMessageBytes: number;
}

export interface Server {
  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(port: number, host: string): Promise<{ host: string; port: number }>;
  /**
   * Stops taking connections, sends GOAWAY so that clients open no new streams, and waits up
   * to `graceMs` for calls in flight; then cancels what is left.
   */
  close(graceMs: number): Promise<void>;
}

/**
 * An unstarted HTTP/2 (cleartext, prior knowledge) server that hands every request to the
 * Connect router: gRPC, gRPC-Web and the Connect protocol on one port.
 */
export function createServer(deps: ServerDeps): Server {
  const shutdown = new AbortController();
  const handler = connectNodeAdapter({
    routes: deps.routes,
    interceptors: deps.interceptors,
    readMaxBytes: deps.maxMessageBytes,
    writeMaxBytes: deps.maxMessageBytes,
    shutdownSignal: shutdown.signal,
  });
  const httpServer = http2.createServer({ settings: { maxConcurrentStreams: 256 } }, handler);
  const sessions = new Set<http2.ServerHttp2Session>();

  httpServer.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    // An abrupt client must never take the process down.
    session.on("error", (err) => deps.logger.debug({ err }, "http2 session error"));
  });
  httpServer.on("sessionError", (err) => deps.logger.debug({ err }, "http2 session error"));
  httpServer.on("clientError", (err, socket) => {
    deps.logger.debug({ err }, "client connection error");
    socket.destroy();
  });

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(port, host, () => {
          httpServer.off("error", reject);
          const address = httpServer.address() as AddressInfo;
          resolve({ host: address.address, port: address.port });
        });
      });
    },

    async close(graceMs) {
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      for (const session of sessions) session.close();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), graceMs);
      });
      if ((await Promise.race([closed, deadline])) === "timeout") {
        shutdown.abort();
        for (const session of sessions) session.destroy();
        await closed;
      }
      clearTimeout(timer);
    },
  };
}
