import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { openSync, readFileSync, symlinkSync } from "node:fs";
import path from "node:path";

/** A service process a benchmark started. */
export interface Server {
  name: string;
  child: ChildProcess;
  port: number;
}

/**
 * Starts `main` (a compiled dist/src/main.js, here or in a baseline worktree) on CPU 0 with
 * `env` added, its log in `scratch`; resolves once its database is ready.
 */
export async function startServiceOnCpu0(
  name: string,
  main: string,
  env: Record<string, string>,
  scratch: string,
): Promise<Server> {
  const log = path.join(scratch, `${name.replace(/\W+/g, "-")}.log`);
  const child = spawn("taskset", ["-c", "0", process.execPath, main], {
    cwd: path.dirname(path.dirname(path.dirname(main))),
    env: { ...process.env, PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", openSync(log, "w"), "inherit"],
  });
  for (let waited = 0; waited < 60_000; waited += 100) {
    const text = readFileSync(log, "utf8");
    const port = /"port":(\d+)/.exec(text)?.[1];
    if (port && text.includes("database ready")) return { name, child, port: Number(port) };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`${name} did not start: ${readFileSync(log, "utf8").slice(-2000)}`);
}

/**
 * Compiles the service as it is here (into dist/) and at `revision`, in a git worktree at
 * `worktree` that shares this checkout's node_modules; `remove` takes the worktree away.
 */
export function buildHereAndAt(root: string, revision: string, worktree: string) {
  execFileSync("npm", ["run", "build:server"], { cwd: root, stdio: "ignore" });
  execFileSync("git", ["worktree", "add", "--detach", worktree, revision], {
    cwd: root,
    stdio: "ignore",
  });
  symlinkSync(path.join(root, "node_modules"), path.join(worktree, "node_modules"));
  execFileSync(path.join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], {
    cwd: worktree,
    stdio: "inherit",
  });
  return { main: path.join(worktree, "dist/src/main.js") };
}

/** Takes away a worktree of buildHereAndAt, if it is there. */
export function removeWorktree(root: string, worktree: string) {
  try {
    execFileSync("git", ["worktree", "remove", "--force", worktree], {
      cwd: root,
      stdio: "ignore",
    });
  } catch {}
}
