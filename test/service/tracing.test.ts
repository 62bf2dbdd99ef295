import http from "node:http";
import type { AddressInfo } from "node:net";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTracing, type Tracing } from "../../src/observability/tracing.js";
import { callError } from "../support/errors.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { until } from "../support/until.js";

// OpenTelemetry: the service continues a caller's W3C trace, with a SERVER span per call and
// a CLIENT span per SQL statement under it, exported over OTLP/HTTP (JSON) to a collector,
// here one in this process.

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
  status?: { code?: number };
}

let collector: http.Server;
const received: OtlpSpan[] = [];
let tracing: Tracing;
let server: TestServer;

beforeAll(async () => {
  collector = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.url === "/v1/traces") {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
          resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const r of body.resourceSpans) for (const s of r.scopeSpans) received.push(...s.spans);
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
  const { port } = collector.address() as AddressInfo;
  tracing = createTracing({
    endpoint: `http://127.0.0.1:${port}`,
    serviceName: "customer-inventory-test",
    exportDelayMs: 50,
  });
  server = await startTestServer({ tracing });
});

afterAll(async () => {
  await server?.close();
  await tracing?.shutdown();
  await new Promise((resolve) => collector?.close(resolve));
});

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue));
};
const spansOf = (traceId: string) => received.filter((s) => s.traceId === traceId);

describe("tracing", () => {
  it("continues the caller's traceparent with a span for the call and one per SQL statement", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const callerSpan = "00f067aa0ba902b7";
    const headers = { traceparent: `00-${traceId}-${callerSpan}-01` };
    const { customer } = await server
      .clients("grpc")
      .inventory.createCustomer({ customer: { name: "Traced Networks" } }, { headers });
    await server.clients("grpc").inventory.getCustomer({ id: customer?.id ?? "" }, { headers });
    await tracing.flush();
    await until(() => spansOf(traceId).length >= 4, 5_000, "the spans at the collector");
    const calls = spansOf(traceId).filter((s) => s.parentSpanId === callerSpan);
    expect(calls.map((s) => s.name).sort()).toEqual([
      "customerinventory.v1.CustomerInventoryService/CreateCustomer",
      "customerinventory.v1.CustomerInventoryService/GetCustomer",
    ]);
    for (const call of calls) {
      expect(call.kind).toBe(2); // SERVER
      expect(attribute(call, "rpc.system")).toBe("grpc");
      expect(attribute(call, "rpc.grpc.status_code")).toBe(0);
      const statements = spansOf(traceId).filter((s) => s.parentSpanId === call.spanId);
      expect(statements.length).toBeGreaterThan(0);
      for (const statement of statements) {
        expect(statement.kind).toBe(3); // CLIENT
        expect(attribute(statement, "db.system.name")).toBe("postgresql");
      }
    }
    const get = calls.find((s) => s.name.endsWith("/GetCustomer")) as OtlpSpan;
    const [select] = spansOf(traceId).filter((s) => s.parentSpanId === get.spanId);
    expect(select?.name).toBe("SELECT");
    // The statement's text, never its values.
    expect(String(attribute(select as OtlpSpan, "db.query.text"))).toMatch(/from "customers"/);
    expect(JSON.stringify(select)).not.toContain(customer?.id);
  });

  it("marks a failed call with its code, over Connect as over gRPC", async () => {
    const traceId = "5bf92f3577b34da6a3ce929d0e0e4736";
    const err = await callError(() =>
      server
        .clients("connect-json")
        .inventory.getCustomer(
          { id: "01ARZ3NDEKTSV4RRFFQ69G5FAV" },
          { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } },
        ),
    );
    expect(err.code).toBe(Code.NotFound);
    await tracing.flush();
    await until(() => spansOf(traceId).some((s) => s.kind === 2), 5_000, "the call's span");
    const call = spansOf(traceId).find((s) => s.kind === 2) as OtlpSpan;
    expect(attribute(call, "rpc.system")).toBe("connect_rpc");
    expect(attribute(call, "rpc.grpc.status_code")).toBe(Code.NotFound);
    expect(call.status?.code).toBe(2); // ERROR
  });

  it("starts a trace of its own for a call without traceparent", async () => {
    const before = received.length;
    await server.clients("grpc").inventory.listCustomers({});
    await tracing.flush();
    await until(() => received.length > before, 5_000, "a span");
    const call = received
      .slice(before)
      .find((s) => s.name.endsWith("/ListCustomers") && s.kind === 2) as OtlpSpan;
    expect(call.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(call.parentSpanId ?? "").toBe("");
  });
});
