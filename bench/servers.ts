import { type ChildProcess, spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
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
