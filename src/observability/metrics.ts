import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { NodeResponse } from "../http/node-types.js";
import type { PoolUsage } from "../store/db.js";

/** One finished call, as the call interceptor sees it. */
export interface CallRecord {
  procedure: string;
  protocol: string;
  code: string;
  durationMs: number;
}

export interface Metrics {
  recordCall(call: CallRecord): void;
  /** Writes every metric in the Prometheus text format. */
  serve(res: NodeResponse): Promise<void>;
}

/**
 * Prometheus metrics of calls (count and latency by procedure, protocol and code), of the
 * database pool (read at each scrape) and of the process.
 */
export function createMetrics(deps: { poolUsage: () => PoolUsage }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const poolGauge = (name: string, help: string, read: (usage: PoolUsage) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(deps.poolUsage()));
      },
    });
  poolGauge("db_pool_size", "Connections the database pool may open.", (u) => u.size);
  poolGauge(
    "db_pool_in_use",
    "Pool connections running a statement or holding a transaction.",
    (u) => u.inUse,
  );
  poolGauge(
    "db_pool_waiting",
    "Statements and transactions waiting for a free pool connection.",
    (u) => u.waiting,
  );
  const labelNames = ["procedure", "protocol", "code"] as const;
  const calls = new Counter({
    name: "rpc_calls_total",
    help: "Calls handled, by procedure, protocol and code.",
    labelNames,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "rpc_duration_seconds",
    help: "Time from a call's arrival to its response, by procedure, protocol and code.",
    labelNames,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  return {
    recordCall({ procedure, protocol, code, durationMs }) {
      const labels = { procedure, protocol, code };
      calls.inc(labels);
      latency.observe(labels, durationMs / 1000);
    },
    async serve(res) {
      const body = await registry.metrics();
      res.writeHead(200, { "content-type": registry.contentType });
      res.end(body);
    },
  };
}
