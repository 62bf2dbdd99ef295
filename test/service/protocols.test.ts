import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CustomerInventoryService } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { startTestServer, type TestServer } from "../support/server.js";

// One port takes HTTP/2 with prior knowledge and HTTP/1.1, told apart by the first bytes.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ corsAllowedOrigins: ["https://ops.example.com"] });
});
afterAll(() => server.close());

const curl = (...args: string[]) =>
  promisify(execFile)("curl", ["-sS", "-i", "--max-time", "10", ...args]);

const createUrl = () =>
  `${server.baseUrl}/customerinventory.v1.CustomerInventoryService/CreateCustomer`;

describe("one port for HTTP/1.1 and HTTP/2", () => {
  it("answers plain curl over HTTP/1.1 with Connect JSON", async () => {
    const { stdout } = await curl(
      "--http1.1",
      "-H",
      "content-type: application/json",
      "-d",
      '{"customer": {"name": "over http1"}}',
      createUrl(),
    );
    expect(stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(stdout).toContain('"name":"over http1"');
  });

  it("answers curl with HTTP/2 prior knowledge on the same port", async () => {
    const { stdout } = await curl(
      "--http2-prior-knowledge",
      "-H",
      "content-type: application/json",
      "-d",
      '{"customer": {"name": "over h2c"}}',
      createUrl(),
    );
    expect(stdout).toMatch(/^HTTP\/2 200/);
    expect(stdout).toContain('"name":"over h2c"');
  });

  it("maps errors over HTTP/1.1 like over HTTP/2", async () => {
    const { stdout } = await curl(
      "--http1.1",
      "-H",
      "content-type: application/json",
      "-d",
      '{"customer": {"name": ""}}',
      createUrl(),
    );
    expect(stdout).toMatch(/^HTTP\/1\.1 400/);
    expect(stdout).toContain('"code":"invalid_argument"');
  });

  it("survives garbage, silence and half a preface, and keeps serving", async () => {
    const send = (bytes: string, wait = 200) =>
      new Promise<string>((resolve) => {
        const socket = net.connect(server.port, "127.0.0.1", () => socket.write(bytes));
        let got = "";
        socket.on("data", (d) => {
          got += d.toString();
        });
        socket.on("error", () => resolve(got));
        socket.on("close", () => resolve(got));
        setTimeout(() => socket.destroy(), wait);
      });
    expect(await send("GARBAGE\r\n\r\n")).toMatch(/^HTTP\/1\.1 400/);
    // HTTP/1.0 without a Host header: Connect cannot build the request URL.
    expect(
      await send(
        "POST /customerinventory.v1.CustomerInventoryService/GetCustomer HTTP/1.0\r\n" +
          "content-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
      ),
    ).toMatch(/^HTTP\/1\.1 400/);
    await send("");
    await send("PRI * HTTP/2.0\r\n");
    await send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\u0000\u0000garbage-frame");
    const { customer } = await server
      .clients("connect-json-http1")
      .inventory.createCustomer({ customer: { name: "still here" } });
    expect(customer?.name).toBe("still here");
  });
});

describe("call logs", () => {
  it("logs one line per call: procedure, protocol, code, duration, request id, peer", async () => {
    const before = server.logs.length;
    await server
      .clients("grpc")
      .inventory.getCustomer(
        { id: "01ARZ3NDEKTSV4RRFFQ69G5FAV" },
        { headers: { "x-request-id": "log-me" } },
      )
      .catch(() => {});
    await server
      .clients("connect-json-http1")
      .inventory.listCustomers({}, { headers: { "x-request-id": "log-me-too" } });
    const calls = server.logs.slice(before).filter((l) => l.msg === "call");
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({
      level: "info",
      procedure: "customerinventory.v1.CustomerInventoryService/GetCustomer",
      protocol: "grpc",
      code: "not_found",
      requestId: "log-me",
    });
    expect(calls[1]).toMatchObject({
      procedure: "customerinventory.v1.CustomerInventoryService/ListCustomers",
      protocol: "connect",
      code: "ok",
      requestId: "log-me-too",
    });
    for (const call of calls) {
      expect(call.peer).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(call.durationMs).toBeGreaterThan(0);
    }
  });
});

describe("CORS", () => {
  const url = () => `${server.baseUrl}/customerinventory.v1.CustomerInventoryService/ListCustomers`;
  const preflight = (origin: string) =>
    fetch(url(), {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,connect-protocol-version,x-request-id",
      },
    });

  it("answers a preflight from an allowed origin with what Connect and gRPC-Web need", async () => {
    const res = await preflight("https://ops.example.com");
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://ops.example.com");
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    const allowed = res.headers.get("access-control-allow-headers")?.toLowerCase() ?? "";
    for (const h of ["content-type", "connect-protocol-version", "x-grpc-web", "x-request-id"]) {
      expect(allowed).toContain(h);
    }
  });

  it("gives other origins no CORS headers", async () => {
    const res = await preflight("https://evil.example.com");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("lets the browser read the response and its request id", async () => {
    const res = await fetch(url(), {
      method: "POST",
      headers: { origin: "https://ops.example.com", "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://ops.example.com");
    expect(res.headers.get("access-control-expose-headers")?.toLowerCase()).toContain(
      "x-request-id",
    );
  });
});

describe("metrics", () => {
  it("counts calls by procedure, protocol and code at /metrics, with process metrics", async () => {
    await server
      .clients("grpc")
      .inventory.getCustomer({ id: "01ARZ3NDEKTSV4RRFFQ69G5FAV" })
      .catch(() => {});
    const res = await fetch(`${server.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(text).toMatch(
      /rpc_calls_total\{procedure="customerinventory.v1.CustomerInventoryService\/GetCustomer",protocol="grpc",code="not_found"\} [1-9]/,
    );
    expect(text).toContain("rpc_duration_seconds_bucket{");
    expect(text).toContain("process_resident_memory_bytes");
  });

  it("shows the database pool's connections in use and the work waiting for one", async () => {
    const gauges = async () => {
      const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
      const value = (name: string) => Number(text.match(new RegExp(`^${name} (\\d+)$`, "m"))?.[1]);
      return {
        size: value("db_pool_size"),
        inUse: value("db_pool_in_use"),
        waiting: value("db_pool_waiting"),
      };
    };
    expect(await gauges()).toEqual({ size: 10, inUse: 0, waiting: 0 });
    const { db } = server.database;
    // drizzle's queries run when awaited: Promise.all starts them all now.
    const sleeps = Promise.all([
      ...Array.from({ length: 11 }, () => db.execute(sql`select pg_sleep(0.5)`)),
      db.transaction((tx) => tx.execute(sql`select pg_sleep(0.5)`)),
    ]);
    await new Promise((r) => setTimeout(r, 150));
    expect(await gauges()).toEqual({ size: 10, inUse: 10, waiting: 2 });
    await sleeps;
    expect(await gauges()).toEqual({ size: 10, inUse: 0, waiting: 0 });
  });
});

describe("TLS", () => {
  it("serves HTTP/2 and HTTP/1.1 over TLS, chosen by ALPN, on one port", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tls-"));
    try {
      await promisify(execFile)("openssl", [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-keyout",
        path.join(dir, "key.pem"),
        "-out",
        path.join(dir, "cert.pem"),
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ]);
      const tls = {
        cert: readFileSync(path.join(dir, "cert.pem")),
        key: readFileSync(path.join(dir, "key.pem")),
      };
      const secure = await startTestServer({ tls });
      try {
        expect(secure.baseUrl).toMatch(/^https:/);
        for (const kind of [
          "grpc",
          "connect-binary",
          "connect-json-http1",
          "grpc-web-http1",
        ] as const) {
          const { customer } = await secure
            .clients(kind)
            .inventory.createCustomer({ customer: { name: `tls ${kind}` } });
          expect(customer?.name).toBe(`tls ${kind}`);
        }
        const { stdout } = await curl(
          "--http1.1",
          "--cacert",
          path.join(dir, "cert.pem"),
          "-H",
          "content-type: application/json",
          "-d",
          "{}",
          `${secure.baseUrl}/customerinventory.v1.CustomerInventoryService/ListCustomers`,
        );
        expect(stdout).toMatch(/^HTTP\/1\.1 200/);
      } finally {
        await secure.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("idle connections", () => {
  it("closes an HTTP/2 connection that carries no call for the idle timeout", async () => {
    const idle = await startTestServer({ idleTimeoutMs: 1_000 });
    try {
      const session = http2.connect(idle.baseUrl);
      await new Promise((resolve) => session.once("connect", resolve));
      const started = Date.now();
      await new Promise((resolve) => session.once("close", resolve));
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await idle.close();
    }
  });
});

describe("Connect GET", () => {
  it("serves the side-effect-free reads as GET requests, and no write", async () => {
    const { customer } = await server
      .clients("connect-json")
      .inventory.createCustomer({ customer: { name: "read by get" } });
    const id = customer?.id ?? "";
    const viaGet = createClient(
      CustomerInventoryService,
      createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", useHttpGet: true }),
    );
    expect((await viaGet.getCustomer({ id })).customer?.name).toBe("read by get");
    const query = `connect=v1&encoding=json&message=${encodeURIComponent(JSON.stringify({ id }))}`;
    const base = `${server.baseUrl}/customerinventory.v1.CustomerInventoryService`;
    const read = await curl("--http1.1", `${base}/GetCustomer?${query}`);
    expect(read.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(read.stdout).toContain('"name":"read by get"');
    const write = await curl("--http1.1", `${base}/DeleteCustomer?${query}`);
    expect(write.stdout).toMatch(/^HTTP\/1\.1 405/);
    expect((await viaGet.getCustomer({ id })).customer?.id).toBe(id);
  });
});
