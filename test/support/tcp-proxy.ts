import net from "node:net";

/** What the proxy does with connections. */
export type ProxyMode =
  /** Forward to the target. */
  | "pass"
  /** Reset every new connection at once, as a database that is down does. */
  | "refuse";

export interface TcpProxy {
  port: number;
  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string;
  setMode(mode: ProxyMode): void;
  /** Resets every open connection in both directions, as a crashed or restarted server does. */
  cutAll(): number;
  close(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 in front of `target`, for cutting and refusing database connections. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: ProxyMode = "pass";
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (mode === "refuse") {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    rewrite(url) {
      const parsed = new URL(url);
      parsed.hostname = "127.0.0.1";
      parsed.port = String(port);
      return parsed.toString();
    },
    setMode(next) {
      mode = next;
    },
    cutAll() {
      const count = open.size;
      for (const socket of open) socket.resetAndDestroy();
      return count;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
