// A highly available PostgreSQL cluster on this machine, from Debian's packages: one etcd and
// three PostgreSQL 15 nodes managed by Patroni, with synchronous replication
// (synchronous_mode_strict: a commit is acknowledged only once a second node has it). Loopback
// only, every port free-picked, everything under one scratch directory.
//
//   npm run cluster               starts it, prints DATABASE_URL and DATABASE_READ_URL, and
//                                 stops it (every process it started) on Ctrl-C
//   npm run cluster -- --dir D    keeps the data in D (default: a new directory under /tmp)
//
// The tests start the same cluster through `startCluster` (test/integration/ha-cluster.test.ts).
// docs/scaling.md explains the settings and how they carry over to real machines.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../src/store/embedded-postgres.js";

/** Where Debian's PostgreSQL 15 keeps its programs. */
const PG_BIN = "/usr/lib/postgresql/15/bin";
const SUPERUSER = { name: "postgres", password: "cluster-superuser" };
const APP = { name: "inventory", password: "inventory-password", database: "customer_inventory" };

/**
 * Patroni's timings. Its rule `loop_wait + 2 × retry_timeout ≤ ttl` holds (2 + 2 × 4 = 10): a
 * leader that stops refreshing its key loses it after `ttl`, which bounds a failover.
 */
export const TIMINGS = { ttl: 10, loop_wait: 2, retry_timeout: 4 } as const;

export interface ClusterNode {
  name: string;
  pgPort: number;
  restPort: number;
  dataDir: string;
  config: string;
}

export interface Member {
  name: string;
  role: "leader" | "sync_standby" | "replica" | string;
  state: string;
  port: number;
  lag?: number | string;
}

export interface Cluster {
  dir: string;
  nodes: ClusterNode[];
  /** The application's URL listing every node, for the primary (target_session_attrs=primary). */
  url: string;
  /**
   * The application's URL listing every node, for reads: the service reads from whichever are
   * standbys at the time (roles change with every failover).
   */
  readUrl: string;
  /** The application's URL of one node. */
  nodeUrl(node: ClusterNode): string;
  /** A superuser's URL of one node (pausing replay, looking at replication). */
  superuserUrl(node: ClusterNode): string;
  /** The members as Patroni sees them. */
  members(): Promise<Member[]>;
  leader(): Promise<ClusterNode>;
  /** Waits for one leader, a synchronous standby and every member streaming with no lag. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** The loss of a machine: kill -9 its Patroni and its PostgreSQL postmaster. */
  killNode(node: ClusterNode): void;
  /** Starts a node's Patroni again (after killNode): it rejoins, rewinding if it must. */
  startNode(node: ClusterNode): void;
  /**
   * Patroni's maintenance mode (`patronictl pause`): it stops managing PostgreSQL, which
   * then keeps what is done to it by hand (such as a replay paused to make a standby lag;
   * Patroni resumes replay within seconds otherwise).
   */
  setMaintenance(on: boolean): Promise<void>;
  /** A planned change of primary with `patronictl switchover`. */
  switchover(from: ClusterNode, to: ClusterNode): void;
  /** Stops every process it started, by PID, and removes its directory unless kept. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Keep the data here instead of a new directory that stop() removes. */
  dir?: string;
  /** Called with each line the processes print (default: nothing). */
  log?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What is missing for a cluster (.ci/run installs it), or an empty list. */
export function missingClusterTools(): string[] {
  return [
    ["/usr/bin/patroni", "patroni"],
    ["/usr/bin/patronictl", "patroni"],
    ["/usr/bin/etcd", "etcd-server"],
    [`${PG_BIN}/postgres`, "postgresql-15"],
  ]
    .filter(([file]) => !existsSync(file as string))
    .map(([, pkg]) => pkg as string)
    .filter((pkg, i, all) => all.indexOf(pkg) === i);
}

/** As root, PostgreSQL runs as `postgres` (it refuses to run as root). */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) =>
    Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

function patroniConfig(scope: string, node: ClusterNode, etcdPort: number, dir: string) {
  // Patroni reads YAML, and JSON is YAML.
  return {
    scope,
    namespace: "/customer-inventory/",
    name: node.name,
    log: { level: "WARNING" },
    restapi: {
      listen: `127.0.0.1:${node.restPort}`,
      connect_address: `127.0.0.1:${node.restPort}`,
    },
    etcd3: { hosts: `127.0.0.1:${etcdPort}` },
    bootstrap: {
      dcs: {
        ...TIMINGS,
        maximum_lag_on_failover: 1_048_576,
        synchronous_mode: true,
        synchronous_mode_strict: true,
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          parameters: {
            wal_level: "replica",
            wal_log_hints: "on",
            hot_standby: "on",
            // Standbys serve reads: vacuum on the primary waits for their snapshots rather
            // than cancelling their queries (a long export) on replay.
            hot_standby_feedback: "on",
            max_wal_senders: 10,
            max_replication_slots: 10,
            wal_keep_size: "64MB",
            max_connections: 200,
          },
        },
      },
      initdb: ["data-checksums", { encoding: "UTF8" }, { "auth-local": "trust" }],
    },
    postgresql: {
      listen: `127.0.0.1:${node.pgPort}`,
      connect_address: `127.0.0.1:${node.pgPort}`,
      data_dir: node.dataDir,
      bin_dir: PG_BIN,
      pgpass: path.join(dir, node.name, "pgpass"),
      authentication: {
        superuser: { username: SUPERUSER.name, password: SUPERUSER.password },
        replication: { username: "replicator", password: "cluster-replication" },
        rewind: { username: "rewinder", password: "cluster-rewind" },
      },
      parameters: {
        // Its own socket directory: /var/run/postgresql belongs to the system server.
        unix_socket_directories: path.join(dir, node.name),
        shared_buffers: "32MB",
        fsync: "on",
      },
      pg_hba: [
        "local all all trust",
        "host replication replicator 127.0.0.1/32 scram-sha-256",
        "host all all 127.0.0.1/32 scram-sha-256",
      ],
    },
  };
}

async function getJson(port: number, route: string): Promise<unknown> {
  const response = await fetch(`http://127.0.0.1:${port}${route}`, {
    signal: AbortSignal.timeout(2_000),
  });
  return response.json();
}

/** Starts etcd and three Patroni nodes and waits until the cluster is healthy (about 10 s). */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const missing = missingClusterTools();
  if (missing.length > 0) throw new Error(`install ${missing.join(", ")} (apt-get install)`);
  const keep = options.dir !== undefined;
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), "customer-inventory-cluster-"));
  mkdirSync(dir, { recursive: true });
  // The postgres user must reach its node directories through this one.
  chmodSync(dir, 0o755);
  const owner = runAs();
  const log = options.log ?? (() => {});
  const children = new Map<string, ChildProcess>();
  const scope = `inventory-${path
    .basename(dir)
    .replace(/[^a-zA-Z0-9]/g, "")
    .slice(-12)}`;

  const etcdPorts = { client: await freePort(), peer: await freePort() };
  const nodes: ClusterNode[] = [];
  for (const name of ["n1", "n2", "n3"]) {
    const nodeDir = path.join(dir, name);
    nodes.push({
      name,
      pgPort: await freePort(),
      restPort: await freePort(),
      dataDir: path.join(nodeDir, "data"),
      config: path.join(nodeDir, "patroni.yml"),
    });
  }

  const watch = (name: string, child: ChildProcess) => {
    children.set(name, child);
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding("utf8");
      stream?.on("data", (chunk: string) => {
        for (const line of chunk.split("\n")) if (line) log(`${name}: ${line}`);
      });
    }
  };

  const etcdDir = path.join(dir, "etcd");
  const client = `http://127.0.0.1:${etcdPorts.client}`;
  const peer = `http://127.0.0.1:${etcdPorts.peer}`;
  watch(
    "etcd",
    spawn(
      "/usr/bin/etcd",
      [
        "--name=etcd",
        `--data-dir=${etcdDir}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=etcd=${peer}`,
        "--log-level=warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    ),
  );

  const startNode = (node: ClusterNode) => {
    const nodeDir = path.dirname(node.config);
    mkdirSync(nodeDir, { recursive: true });
    writeFileSync(
      node.config,
      JSON.stringify(patroniConfig(scope, node, etcdPorts.client, dir), null, 2),
    );
    if (owner) chownTree(nodeDir, owner);
    watch(
      node.name,
      spawn("/usr/bin/patroni", [node.config], {
        stdio: ["ignore", "pipe", "pipe"],
        // Its own directory: the caller's may be closed to the postgres user (a 0700
        // checkout), and initdb fails in a working directory it cannot read.
        cwd: nodeDir,
        ...owner,
        env: { PATH: "/usr/bin:/bin", HOME: nodeDir, LANG: "C.UTF-8" },
      }),
    );
  };

  const stopAll = async () => {
    // Patroni stops its own PostgreSQL on SIGTERM; etcd last, which Patroni needs to stop.
    const patronis = [...children].filter(([name]) => name !== "etcd");
    await Promise.all(patronis.map(([name, child]) => stopChild(children, name, child, 20_000)));
    for (const node of nodes) killPostmaster(node);
    const etcd = children.get("etcd");
    if (etcd) await stopChild(children, "etcd", etcd, 5_000);
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };

  const members = async (): Promise<Member[]> => {
    for (const node of nodes) {
      try {
        const cluster = (await getJson(node.restPort, "/cluster")) as {
          members?: { name: string; role: string; state: string; port: number; lag?: number }[];
        };
        if (cluster.members) return cluster.members;
      } catch {
        // That node is down: ask the next.
      }
    }
    return [];
  };

  const cluster: Cluster = {
    dir,
    nodes,
    url: `postgres://${APP.name}:${APP.password}@${nodes
      .map((n) => `127.0.0.1:${n.pgPort}`)
      .join(",")}/${APP.database}?target_session_attrs=primary`,
    readUrl: `postgres://${APP.name}:${APP.password}@${nodes
      .map((n) => `127.0.0.1:${n.pgPort}`)
      .join(",")}/${APP.database}`,
    nodeUrl: (node) =>
      `postgres://${APP.name}:${APP.password}@127.0.0.1:${node.pgPort}/${APP.database}`,
    superuserUrl: (node) =>
      `postgres://${SUPERUSER.name}:${SUPERUSER.password}@127.0.0.1:${node.pgPort}/${APP.database}`,
    members,
    async leader() {
      const leader = (await members()).find((m) => m.role === "leader" && m.state === "running");
      const node = nodes.find((n) => n.name === leader?.name);
      if (!node) throw new Error("the cluster has no leader");
      return node;
    },
    async waitHealthy(timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      let seen: Member[] = [];
      while (Date.now() < until) {
        seen = await members();
        const running = seen.filter((m) => m.state === "running" || m.state === "streaming");
        const leader = seen.filter((m) => m.role === "leader" && m.state === "running");
        const sync = seen.filter((m) => m.role === "sync_standby");
        if (
          running.length === nodes.length &&
          leader.length === 1 &&
          sync.length >= 1 &&
          seen.every((m) => m.role === "leader" || m.lag === 0)
        ) {
          return;
        }
        await sleep(250);
      }
      throw new Error(`the cluster did not become healthy: ${JSON.stringify(seen)}`);
    },
    killNode(node) {
      children.get(node.name)?.kill("SIGKILL");
      children.delete(node.name);
      killPostmaster(node);
    },
    startNode,
    async setMaintenance(on) {
      const [node] = nodes;
      if (!node) return;
      await fetch(`http://127.0.0.1:${node.restPort}/config`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ pause: on }),
        signal: AbortSignal.timeout(5_000),
      });
      // Every member has seen it once its own status says so.
      for (const member of nodes) {
        await waitFor(
          async () => {
            const status = (await getJson(member.restPort, "/patroni")) as { pause?: boolean };
            if ((status.pause ?? false) !== on) throw new Error("not yet");
          },
          15_000,
          `maintenance mode ${on ? "on" : "off"} at ${member.name}`,
        );
      }
    },
    switchover(from, to) {
      execFileSync(
        "/usr/bin/patronictl",
        ["-c", from.config, "switchover", "--leader", from.name, "--candidate", to.name, "--force"],
        {
          stdio: "pipe",
          cwd: path.dirname(from.config),
          ...owner,
          env: { PATH: "/usr/bin:/bin", HOME: path.dirname(from.config), LANG: "C.UTF-8" },
        },
      );
    },
    stop: stopAll,
  };

  try {
    await waitFor(() => getJson(etcdPorts.client, "/health"), 10_000, "etcd");
    for (const node of nodes) startNode(node);
    await cluster.waitHealthy();
    await createApplicationDatabase(cluster, await cluster.leader());
    // Standbys replay it a moment later: a test connecting to one at once would not find it.
    for (const node of nodes) {
      await waitFor(() => query(cluster.nodeUrl(node), "select 1"), 30_000, `${node.name}'s copy`);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  return cluster;
}

/**
 * Patroni makes only its own roles: the service's role and database are made here. The role
 * is a member of pg_monitor so that the service can see whether a synchronous standby is
 * attached (src/store/primary-watch.ts).
 */
async function createApplicationDatabase(cluster: Cluster, leader: ClusterNode) {
  const admin = cluster.superuserUrl(leader).replace(APP.database, "postgres");
  await query(admin, `create role ${APP.name} login password '${APP.password}' in role pg_monitor`);
  await query(admin, `create database ${APP.database} owner ${APP.name}`);
}

async function query(url: string, statement: string) {
  const { default: postgres } = await import("postgres");
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    return await sql.unsafe(statement);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function chownTree(dir: string, owner: { uid: number; gid: number }) {
  execFileSync("chown", ["-R", `${owner.uid}:${owner.gid}`, dir]);
  chownSync(dir, owner.uid, owner.gid);
}

/** The postmaster's PID is the first line of postmaster.pid. */
function killPostmaster(node: ClusterNode) {
  try {
    const pid = Number(
      readFileSync(path.join(node.dataDir, "postmaster.pid"), "utf8").split("\n")[0],
    );
    if (pid > 0) process.kill(pid, "SIGKILL");
  } catch {
    // Not running.
  }
}

async function stopChild(
  children: Map<string, ChildProcess>,
  name: string,
  child: ChildProcess,
  graceMs: number,
) {
  children.delete(name);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

async function waitFor(check: () => Promise<unknown>, timeoutMs: number, what: string) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > until) throw new Error(`${what} did not start: ${String(err)}`);
      await sleep(100);
    }
  }
}

async function main() {
  const dirFlag = process.argv.indexOf("--dir");
  const dir = dirFlag > 0 ? path.resolve(process.argv[dirFlag + 1] ?? "") : undefined;
  console.log("starting etcd and three Patroni nodes (about 10 s) ...");
  const cluster = await startCluster({ dir, log: (line) => console.error(line) });
  const env = [`DATABASE_URL='${cluster.url}'`, `DATABASE_READ_URL='${cluster.readUrl}'`];
  writeFileSync(path.join(cluster.dir, "cluster.env"), `${env.join("\n")}\n`);
  console.log(`cluster ready in ${cluster.dir}; members:`);
  for (const m of await cluster.members())
    console.log(`  ${m.name} ${m.role} ${m.state} :${m.port}`);
  console.log(`\nstart the service against it (also in ${cluster.dir}/cluster.env):\n`);
  console.log(`  ${env.join(" \\\n  ")} npm start\n`);
  console.log(`patronictl: patronictl -c ${cluster.nodes[0]?.config} list`);
  console.log("Ctrl-C stops the cluster.");
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log("stopping ...");
    void cluster.stop().then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
