import { AsyncLocalStorage } from "node:async_hooks";
import {
  type Attributes,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";

/**
 * OpenTelemetry tracing: a SERVER span per call, continuing the caller's W3C `traceparent`,
 * with a CLIENT span per SQL statement and transaction under it, exported over OTLP/HTTP to
 * OTEL_EXPORTER_OTLP_ENDPOINT. Without an endpoint nothing of it is wired in: no span, no
 * context, no cost. Nothing global is registered; the current call's span travels in an
 * AsyncLocalStorage of this module's own.
 */
export interface Tracing {
  /** A call's span, continuing the trace of its `traceparent` header if it has one. */
  startCall(name: string, headers: Headers, attributes: Attributes): Span;
  /** Runs `work` with `span` as the current call's span. */
  run<T>(span: Span, work: () => T): T;
  /** A span for a database statement or transaction under the current call's span. */
  startQuery(name: string, attributes: Attributes): Span;
  /** Ends `span` with an error status. */
  fail(span: Span, err: unknown): void;
  /** Exports what is buffered. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** OTLP/HTTP base URL, as OTEL_EXPORTER_OTLP_ENDPOINT: spans go to `<endpoint>/v1/traces`. */
  endpoint: string;
  serviceName: string;
  serviceVersion?: string;
  /** How long spans wait to be exported in a batch. Default 1 s. */
  exportDelayMs?: number;
}

const headerGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

export function createTracing(options: TracingOptions): Tracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      "service.name": options.serviceName,
      ...(options.serviceVersion && { "service.version": options.serviceVersion }),
    }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({
          url: `${options.endpoint.replace(/\/$/, "")}/v1/traces`,
        }),
        scheduledDelayMillis: options.exportDelayMs ?? 1_000,
        maxQueueSize: 8_192,
      }),
    ],
  });
  const tracer: Tracer = provider.getTracer("customer-inventory", options.serviceVersion);
  const propagator = new W3CTraceContextPropagator();
  const calls = new AsyncLocalStorage<Span>();
  return {
    startCall(name, headers, attributes) {
      const parent = propagator.extract(ROOT_CONTEXT, headers, headerGetter);
      return tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
    },
    run: (span, work) => calls.run(span, work),
    startQuery(name, attributes) {
      const current = calls.getStore();
      const parent = current ? trace.setSpan(ROOT_CONTEXT, current) : ROOT_CONTEXT;
      return tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
    },
    fail(span, err) {
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: err instanceof Error ? err.message : String(err),
      });
      span.end();
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
