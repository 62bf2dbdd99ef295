import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { Code, createClient } from "@connectrpc/connect";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "../../gen/grpc/health/v1/health_pb.js";
import { callError } from "../support/errors.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { until } from "../support/until.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ healthProbeIntervalMs: 100 });
});
afterAll(() => server.close());

const health = (s: TestServer, kind: "grpc" | "connect-json" = "grpc") =>
  createClient(Health, s.transport(kind));

describe("grpc.health.v1.Health", () => {
  it("answers SERVING for the server and each API service, NOT_FOUND for others", async () => {
    for (const service of [
      "",
      "customerinventory.v1.CustomerInventoryService",
      "customerinventory.v1.ServiceInstanceService",
    ]) {
      for (const kind of ["grpc", "connect-json"] as const) {
        expect((await health(server, kind).check({ service })).status).toBe(Status.SERVING);
      }
    }
    const err = await callError(() => health(server).check({ service: "nope.v1.Nope" }));
    expect(err.code).toBe(Code.NotFound);
  });

  it("says NOT_SERVING while the database refuses connections, and recovers by itself", async () => {
    const admin = postgres(inject("adminUrl"), { max: 1, onnotice: () => {} });
    const name = new URL(server.database.url).pathname.slice(1);
    try {
      await admin.unsafe(`alter database ${name} allow_connections false`);
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name}`;
      await until(async () => (await health(server).check({})).status === Status.NOT_SERVING);
    } finally {
      await admin.unsafe(`alter database ${name} allow_connections true`);
      await admin.end();
    }
    await until(async () => (await health(server).check({})).status === Status.SERVING);
  });

  it("streams changes to a watcher and ends the stream with NOT_SERVING at shutdown", async () => {
    const other = await startTestServer();
    const seen: Status[] = [];
    const watching = (async () => {
      for await (const res of health(other).watch({})) seen.push(res.status);
    })();
    await until(async () => seen.length === 1);
    expect(seen).toEqual([Status.SERVING]);
    const started = Date.now();
    await other.close();
    await watching;
    expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING]);
    // The watch ended by itself instead of holding shutdown for its whole grace period.
    expect(Date.now() - started).toBeLessThan(1_900);
  });
});

describe("server reflection", () => {
  const buf = path.resolve(import.meta.dirname, "../../node_modules/.bin/buf");
  const bufCurl = (...args: string[]) =>
    promisify(execFile)(buf, ["curl", "--http2-prior-knowledge", ...args], { timeout: 30_000 });

  it.each(["grpc-v1", "grpc-v1alpha"])(
    "lets buf curl list and call the API without proto files (%s)",
    async (protocol) => {
      const listed = await bufCurl(
        "--reflect-protocol",
        protocol,
        "--list-methods",
        server.baseUrl,
      );
      expect(listed.stdout).toContain(
        "customerinventory.v1.CustomerInventoryService/ListCustomers",
      );
      expect(listed.stdout).toContain(
        "customerinventory.v1.ServiceInstanceService/CreateServiceInstance",
      );
      expect(listed.stdout).toContain("grpc.health.v1.Health/Check");
      const created = await bufCurl(
        "--reflect-protocol",
        protocol,
        "--protocol",
        "grpc",
        "-d",
        `{"customer": {"name": "reflected ${protocol}"}}`,
        `${server.baseUrl}/customerinventory.v1.CustomerInventoryService/CreateCustomer`,
      );
      expect(JSON.parse(created.stdout)).toMatchObject({
        customer: { name: `reflected ${protocol}` },
      });
    },
  );
});
