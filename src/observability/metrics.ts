import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { FeedStats } from "../feed/change-feed.js";
import type { NodeResponse } from "../http/node-types.js";
import type { PoolUsage } from "../store/db.js";
import type { ReadRouting } from "../store/read-replicas.js";

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
export function createMetrics(deps: {
  poolUsage: () => PoolUsage;
  /** The change feed's watchers, buffer and reads. */
  feedStats?: () => FeedStats;
  /** Where reads went, and the standbys' lag. */
  reads?: Pick<ReadRouting, "served" | "nodes">;
  /** Whether the last probe reached a primary. */
  primaryReachable?: () => boolean;
}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  /** A gauge read at each scrape. */
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  const poolGauge = (name: string, help: string, read: (usage: PoolUsage) => number) =>
    gauge(name, help, () => read(deps.poolUsage()));
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const { feedStats, reads, primaryReachable } = deps;
  if (primaryReachable) {
    gauge("db_primary_reachable", "1 while the last probe reached a primary, else 0.", () =>
      primaryReachable() ? 1 : 0,
    );
  }
  if (reads) {
    new Counter({
      name: "db_reads_total",
      help: "Read calls by where they were served: target=primary or target=standby.",
      labelNames: ["target"],
      registers: [registry],
      collect() {
        const served = reads.served();
        this.reset();
        this.inc({ target: "primary" }, served.primary);
        this.inc({ target: "standby" }, served.standby);
      },
    });
    new Gauge({
      name: "db_replica_lag_seconds",
      help: "How old each DATABASE_READ_URL node's data is (absent while unknown).",
      labelNames: ["node"],
      registers: [registry],
      collect() {
        this.reset();
        for (const node of reads.nodes()) {
          if (node.lagMs !== undefined) this.set({ node: node.name }, node.lagMs / 1000);
        }
      },
    });
  }
  if (feedStats) {
    gauge("change_feed_watchers", "Open WatchCustomerChanges streams.", () => feedStats().watchers);
    gauge(
      "change_feed_buffered_changes",
      "Changes the feed holds in memory for live watchers (bounded by WATCH_BUFFER_CHANGES).",
      () => feedStats().buffered,
    );
    counter(
      "change_feed_reads_total",
      "Reads of the change feed by the process's one reader, however many watch.",
      () => feedStats().reads,
    );
    counter(
      "change_feed_replays_total",
      "Database reads by watchers behind the buffer (resuming from older cursors).",
      () => feedStats().replays,
    );
  }
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
