import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  /** Every JSON line the process wrote to stdout so far. */
  logs: Record<string, unknown>[];
  /** Sends `signal` and resolves with the exit code. */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

const root = path.resolve(import.meta.dirname, "../..");

/**
 * Runs the compiled `dist/src/main.js` as `npm start` does (the global setup compiles it),
 * with `env` added, until it says its database is
 * ready (or, with `until: "listening"`, until it says where it listens).
 */
export function startServiceProcess(
  env: Record<string, string>,
  options: { until?: "ready" | "listening" } = {},
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ["dist/src/main.js"], {
    cwd: root,
    env: { ...process.env, PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the service did not start within 60 s: ${stderr}`));
    }, 60_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the service exited with ${code} before listening: ${stderr}`));
    });
    let port: number | undefined;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (typeof entry.port === "number" && String(entry.msg).startsWith("listening")) {
        port = entry.port;
      }
      const done =
        (options.until ?? "ready") === "ready"
          ? entry.msg === "database ready"
          : port !== undefined;
      if (done && port !== undefined) {
        clearTimeout(timer);
        resolve({
          child,
          port,
          logs,
          stop: (signal) => {
            child.kill(signal);
            return exited;
          },
        });
      }
    });
  });
}
