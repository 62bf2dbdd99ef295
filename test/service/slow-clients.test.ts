import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

// Connections that never finish speaking (the slowloris family) must not hold a connection
// slot for good: each phase of a request has a bound, and the number of open connections has
// a cap past which new ones are refused at once while established calls go on.

const limits = { firstByteTimeoutMs: 400, headersTimeoutMs: 600, requestTimeoutMs: 1_200 };
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ connectionLimits: limits });
});
afterAll(() => server.close());

/** A raw TCP connection; `closed` resolves with the ms until the server closed it and what it sent. */
async function connect(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const opened = performance.now();
  let received = "";
  socket.on("data", (chunk: Buffer) => {
    received += chunk.toString("latin1");
  });
  socket.on("error", () => {});
  const closed = new Promise<{ afterMs: number; received: string }>((resolve) => {
    socket.once("close", () => resolve({ afterMs: performance.now() - opened, received }));
  });
  // Bounded: a connection the server keeps open fails the test instead of hanging it.
  const guard = setTimeout(() => socket.destroy(new Error("still open")), 10_000);
  void closed.then(() => clearTimeout(guard));
  return { socket, closed };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("connections that never finish speaking", () => {
  it("closes connections that never send a byte", async () => {
    const connections = await Promise.all(Array.from({ length: 20 }, () => connect(server.port)));
    for (const { closed } of connections) {
      const { afterMs } = await closed;
      expect(afterMs).toBeGreaterThanOrEqual(limits.firstByteTimeoutMs - 50);
      expect(afterMs).toBeLessThan(5_000);
    }
  });

  it("closes a connection that dribbles the HTTP/2 preface a byte at a time", async () => {
    const { socket, closed } = await connect(server.port);
    const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    for (let i = 0; i < preface.length && !socket.destroyed; i++) {
      socket.write(preface.subarray(i, i + 1));
      await sleep(50);
    }
    expect((await closed).afterMs).toBeLessThan(5_000);
  });

  it("closes HTTP/1.1 connections that sent half a request header", async () => {
    const connections = await Promise.all(Array.from({ length: 10 }, () => connect(server.port)));
    for (const { socket } of connections) socket.write("POST /x HTTP/1.1\r\nHost: a\r\n");
    for (const { closed } of connections) {
      const { afterMs, received } = await closed;
      expect(afterMs).toBeLessThan(5_000);
      expect(received).toMatch(/^(HTTP\/1\.1 408|$)/);
    }
  });

  it("closes an HTTP/1.1 request whose body stops arriving", async () => {
    const { socket, closed } = await connect(server.port);
    socket.write(
      "POST /customerinventory.v1.CustomerInventoryService/ListCustomers HTTP/1.1\r\n" +
        "Host: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    );
    const { afterMs } = await closed;
    expect(afterMs).toBeGreaterThanOrEqual(limits.requestTimeoutMs - 100);
    expect(afterMs).toBeLessThan(6_000);
  });

  it("keeps serving calls while slow connections are cut", async () => {
    const slow = await Promise.all(Array.from({ length: 5 }, () => connect(server.port)));
    const { inventory } = server.clients("grpc");
    expect((await inventory.listCustomers({})).totalSize).toBe(0);
    await Promise.all(slow.map((c) => c.closed));
    // An established HTTP/2 connection that keeps making calls is not cut.
    for (let i = 0; i < 3; i++) {
      await sleep(limits.requestTimeoutMs / 2);
      expect((await inventory.listCustomers({})).totalSize).toBe(0);
    }
  });
});

describe("the cap on open connections", () => {
  let capped: TestServer;
  beforeAll(async () => {
    capped = await startTestServer({ connectionLimits: { maxConnections: 3 } });
  });
  afterAll(() => capped.close());

  it("refuses new connections at once past the cap while established calls go on", async () => {
    // Three established connections: gRPC, Connect over HTTP/2, and one idle socket.
    const grpc = capped.clients("grpc").inventory;
    const connect2 = capped.clients("connect-binary").inventory;
    await grpc.listCustomers({});
    await connect2.listCustomers({});
    const idle = await connect(capped.port);
    const refused = await Promise.all(Array.from({ length: 5 }, () => connect(capped.port)));
    for (const { closed } of refused) {
      const { afterMs, received } = await closed;
      expect(afterMs).toBeLessThan(1_000);
      expect(received).toBe("");
    }
    expect((await grpc.listCustomers({})).totalSize).toBe(0);
    expect((await connect2.listCustomers({})).totalSize).toBe(0);
    // A slot that frees up takes a new connection again.
    idle.socket.destroy();
    await idle.closed;
    await sleep(50);
    const next = capped.clients("grpc-web-http1").inventory;
    expect((await next.listCustomers({})).totalSize).toBe(0);
  });
});
