import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../src/store/embedded-postgres.js";

export interface PgBouncer {
  /** `url` rewritten to go through PgBouncer. */
  rewrite(url: string): string;
  stop(): Promise<void>;
}

/** Whether Debian's pgbouncer is installed (`.ci/run` installs it). */
export function hasPgBouncer(): boolean {
  try {
    execFileSync("pgbouncer", ["--version"], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

/**
 * PgBouncer in transaction mode in front of the PostgreSQL at `serverUrl`, on a free port of
 * 127.0.0.1. It forwards every database; clients log in as the server's user.
 */
export async function startPgBouncer(serverUrl: string): Promise<PgBouncer> {
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username);
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "pgbouncer-"));
  chmodSync(dir, 0o755);
  writeFileSync(
    path.join(dir, "userlist.txt"),
    `"${user}" "${decodeURIComponent(server.password)}"\n`,
    { mode: 0o644 },
  );
  writeFileSync(
    path.join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      `* = host=${server.hostname} port=${server.port || 5432}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      `unix_socket_dir =`,
      "auth_type = trust",
      `auth_file = ${path.join(dir, "userlist.txt")}`,
      "pool_mode = transaction",
      "default_pool_size = 4",
      "max_client_conn = 200",
      // PgBouncer cannot pass these startup parameters on: set them on the role instead.
      "ignore_startup_parameters = statement_timeout,lock_timeout,plan_cache_mode,extra_float_digits",
    ].join("\n"),
    { mode: 0o644 },
  );
  // PgBouncer refuses to run as root.
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = spawn(
    "pgbouncer",
    [...(asRoot ? ["-u", "nobody"] : []), path.join(dir, "pgbouncer.ini")],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  for (let waited = 0; ; waited += 100) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (open) break;
    if (waited > 10_000 || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error(`pgbouncer did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    rewrite(url) {
      const parsed = new URL(url);
      parsed.hostname = "127.0.0.1";
      parsed.port = String(port);
      return parsed.toString();
    },
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGINT");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
