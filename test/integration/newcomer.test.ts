import { execFile, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// A newcomer's first steps: a fresh copy of the repository in a private directory, built,
// then `node dist/src/main.js` as `npm start` runs it, with the embedded database.

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, "../..");
const isRoot = process.getuid?.() === 0;
/** The ordinary user the non-root test runs as, made by the test when it runs as root. */
const TEST_USER = "ci-inventory";

interface User {
  uid: number;
  gid: number;
}

async function ordinaryUser(): Promise<User | undefined> {
  if (!isRoot) return undefined; // this process is one already
  const lookup = async () => ({
    uid: Number((await run("id", ["-u", TEST_USER])).stdout.trim()),
    gid: Number((await run("id", ["-g", TEST_USER])).stdout.trim()),
  });
  return lookup().catch(async () => {
    await run("useradd", ["--system", "--user-group", "--no-create-home", TEST_USER]);
    return lookup();
  });
}

/**
 * The tracked files of this checkout copied into a new private (0700) directory, owned by
 * `owner`, with node_modules linked in (hard links: the copy's own path stays private) and
 * the server compiled as `npm install` does.
 */
async function freshClone(owner?: User): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), "customer-inventory-newcomer-"));
  chmodSync(dir, 0o700);
  const { stdout } = await run("git", ["ls-files", "-co", "--exclude-standard", "-z"], {
    cwd: repo,
    maxBuffer: 16 * 1024 * 1024,
  });
  const listFile = path.join(dir, ".files");
  writeFileSync(listFile, stdout);
  await run("sh", [
    "-c",
    `tar -C "$1" --null -T "$2" -cf - | tar -C "$3" -xf -`,
    "sh",
    repo,
    listFile,
    dir,
  ]);
  rmSync(listFile);
  if (owner) await run("chown", ["-R", `${owner.uid}:${owner.gid}`, dir]);
  await run("cp", ["-al", path.join(repo, "node_modules"), dir]).catch(() =>
    run("cp", ["-a", path.join(repo, "node_modules"), dir]),
  );
  await run(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
    cwd: dir,
    uid: owner?.uid,
    gid: owner?.gid,
  });
  return dir;
}

interface Started {
  port: number;
  stop(): Promise<number | null>;
}

/** `node dist/src/main.js` in `dir`; resolves once the database is ready. */
function startIn(dir: string, env: Record<string, string>, user?: User): Promise<Started> {
  const child = spawn(process.execPath, ["dist/src/main.js"], {
    cwd: dir,
    env: { ...process.env, PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    uid: user?.uid,
    gid: user?.gid,
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no answer within 90 s: ${stderr}`));
    }, 90_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before it was ready: ${stderr}`));
    });
    let port = 0;
    createInterface({ input: child.stdout }).on("line", (line) => {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg?.startsWith("listening")) port = entry.port ?? 0;
      if (entry.msg === "database ready" && port) {
        clearTimeout(timer);
        resolve({
          port,
          stop: () => {
            child.kill("SIGTERM");
            return exited;
          },
        });
      }
    });
  });
}

/** Runs the service to its end, expecting it to fail: its exit code and stderr. */
async function failingStart(dir: string, env: Record<string, string>, user?: User) {
  return run(process.execPath, ["dist/src/main.js"], {
    cwd: dir,
    env: { ...process.env, PORT: "0", ...env },
    uid: user?.uid,
    gid: user?.gid,
    timeout: 60_000,
  }).then(
    () => ({ code: 0, stderr: "" }),
    (err: { code?: number; stderr?: string }) => ({ code: err.code, stderr: err.stderr ?? "" }),
  );
}

/** One create and one get over the Connect protocol, as curl would. */
async function answersACall(port: number) {
  const call = async (method: string, body: unknown) => {
    const res = await fetch(
      `http://127.0.0.1:${port}/customerinventory.v1.CustomerInventoryService/${method}`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      },
    );
    expect(res.status).toBe(200);
    return (await res.json()) as { customer: { id: string; name: string } };
  };
  const { customer } = await call("CreateCustomer", { customer: { name: "First Steps" } });
  expect((await call("GetCustomer", { id: customer.id })).customer.name).toBe("First Steps");
}

function expectOneClearLine(failure: { code?: number; stderr: string }) {
  expect(failure.code).toBe(1);
  const lines = failure.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^embedded PostgreSQL .*DATA_DIR.*DATABASE_URL/);
  expect(failure.stderr).not.toMatch(/\n\s+at /); // no stack
}

describe.runIf(isRoot)("a fresh clone started as root from a private directory", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await freshClone();
  }, 120_000);
  afterAll(() => {
    // The postgres user cannot enter the clone, so its cluster was kept elsewhere: the note
    // in DATA_DIR says where.
    const note = readFileSync(path.join(dir, ".data", "pg-location"), "utf8");
    const cluster = note.trim().split("\n").at(-1) ?? "";
    expect(cluster).toMatch(/^\/var\/lib\/customer-inventory\/clusters\/[0-9a-f]{16}\/pg$/);
    rmSync(path.dirname(cluster), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts the embedded database as the postgres user and answers a call", async () => {
    const service = await startIn(dir, {});
    try {
      await answersACall(service.port);
    } finally {
      expect(await service.stop()).toBe(0);
    }
    // And again, on the data it kept.
    const again = await startIn(dir, {});
    expect(await again.stop()).toBe(0);
  }, 180_000);

  it("gives one clear line and exit code 1 for a DATA_DIR that cannot be a directory", async () => {
    writeFileSync(path.join(dir, "a-file"), "");
    expectOneClearLine(await failingStart(dir, { DATA_DIR: path.join(dir, "a-file", "data") }));
  }, 60_000);
});

describe("a fresh clone started as an ordinary user", () => {
  let user: User | undefined;
  let dir: string;
  beforeAll(async () => {
    user = await ordinaryUser();
    dir = await freshClone(user);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("answers a call", async () => {
    const service = await startIn(dir, {}, user);
    try {
      await answersACall(service.port);
    } finally {
      expect(await service.stop()).toBe(0);
    }
  }, 180_000);

  it("gives one clear line and exit code 1 for a DATA_DIR it cannot write", async () => {
    const locked = path.join(dir, "locked");
    mkdirSync(locked, { mode: 0o500 });
    chmodSync(locked, 0o500);
    if (user) chownSync(locked, user.uid, user.gid);
    expectOneClearLine(await failingStart(dir, { DATA_DIR: path.join(locked, "data") }, user));
  }, 60_000);
});
