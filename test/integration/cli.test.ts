import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

// The command line (`npx customer-inventory`, dist/cli/main.js) against a real server.

const root = path.resolve(import.meta.dirname, "../..");
let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer();
  dir = mkdtempSync(path.join(tmpdir(), "cli-test-"));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI; resolves with its exit code and output. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["dist/cli/main.js", ...args],
      {
        cwd: root,
        env: { ...process.env, CUSTOMER_INVENTORY_URL: server.baseUrl },
        maxBuffer: 64 << 20,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const file = (name: string, content: string) => {
  const at = path.join(dir, name);
  writeFileSync(at, content);
  return at;
};

/** A CSV field as RFC 4180 quotes it. */
const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

async function total(filter: string) {
  return (await server.clients().inventory.listCustomers({ filter, pageSize: 1 })).totalSize;
}

describe("the command line", () => {
  it("imports a 10,000-row CSV (BOM, CRLF, quoted fields, columns in any order), and a re-import of its export changes nothing", async () => {
    const lines = ["description,reference_number,name"];
    for (let i = 0; i < 10_000; i++) {
      const description = i % 3 === 0 ? `says "hi", then\r\na new line ${i}` : `Zürich, café ${i}`;
      lines.push([quote(description), `CLI-${i}`, quote(`CLI Customer, ${i} ü`)].join(","));
    }
    const csv = file("customers.csv", `\uFEFF${lines.join("\r\n")}\r\n`);
    const imported = await cli(["import", csv]);
    expect(imported.stderr).toContain("imported 10000 rows");
    expect(imported.code).toBe(0);
    expect(await total('reference_number = "CLI-*"')).toBe(10_000);
    const { customers } = await server
      .clients()
      .inventory.listCustomers({ filter: 'reference_number = "CLI-3"' });
    expect(customers[0]?.description).toBe('says "hi", then\r\na new line 3'.replace("\r\n", "\n"));
    expect(customers[0]?.name).toBe("CLI Customer, 3 ü");

    const exportFile = path.join(dir, "export.csv");
    const exported = await cli(["export", "--search", "CLI Customer", "--output", exportFile]);
    expect(exported.code).toBe(0);
    const text = readFileSync(exportFile, "utf8");
    expect(text.split("\n")[0]).toBe(
      "id,name,reference_number,description,service_instance_count,create_time,update_time",
    );
    const again = await cli(["import", "--upsert", exportFile]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("0 created, 0 updated, 10000 unchanged");
    const second = await cli(["export", "--search", "CLI Customer"]);
    expect(second.stdout).toBe(text);

    const jsonl = await cli([
      "export",
      "--format",
      "jsonl",
      "--filter",
      'reference_number = "CLI-7"',
    ]);
    expect(JSON.parse(jsonl.stdout.trim())).toMatchObject({ reference_number: "CLI-7" });
  }, 120_000);

  it("a dry run reports every bad row of the file with its line and writes nothing (exit 1)", async () => {
    const rows = ["name,reference_number"];
    for (let i = 0; i < 2500; i++) rows.push(`Dry ${i},DRY-${i}`);
    rows[5] = ",DRY-EMPTY"; // line 6: no name
    rows[1800] = `Dry 10,DRY-X`; // line 1801: the name of line 12, in another batch
    rows[2400] = `${"x".repeat(101)},DRY-LONG`; // line 2401
    const csv = file("dry.csv", `${rows.join("\n")}\n`);
    const result = await cli(["import", "--dry-run", csv]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${csv}:6: name: is required`);
    expect(result.stderr).toContain(`${csv}:1801: name: is also the name on line 12`);
    expect(result.stderr).toMatch(new RegExp(`${csv}:2401: name: must be at most 100`));
    expect(result.stderr).toContain("dry run, nothing written");
    expect(await total('reference_number = "DRY-*"')).toBe(0);
    // For real: the first batch fails and nothing of it is written.
    const real = await cli(["import", csv]);
    expect(real.code).toBe(1);
    expect(await total('reference_number = "DRY-*"')).toBe(0);
  }, 60_000);

  it("imports JSON Lines, and upserts by reference number", async () => {
    const jsonl = file(
      "rows.jsonl",
      [
        JSON.stringify({ name: "JSONL One", reference_number: "JL-1", description: "a\nb" }),
        "",
        JSON.stringify({ name: "JSONL Two", referenceNumber: "JL-2" }),
      ].join("\n"),
    );
    const first = await cli(["import", jsonl]);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain("2 created");
    const changed = file(
      "changed.jsonl",
      `${JSON.stringify({ name: "JSONL One renamed", reference_number: "jl-1", description: "a\nb" })}\n`,
    );
    const second = await cli(["import", "--upsert", changed]);
    expect(second.stderr).toContain("0 created, 1 updated, 0 unchanged");
    expect(await total('name = "JSONL One renamed"')).toBe(1);
    const broken = await cli(["import", file("broken.jsonl", '{"name": "x"}\nnot json\n')]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain("line 2: not a JSON object");
  });

  it("exits 2 for usage and connection problems, 0 for --help", async () => {
    expect((await cli(["--help"])).code).toBe(0);
    expect((await cli(["import", "--help"])).code).toBe(0);
    expect((await cli(["import"])).code).toBe(2);
    const extra = await cli(["import", file("extra.csv", "name,colour\nx,red\n")]);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('unknown column "colour"');
    const unreachable = await cli([
      "--url",
      "http://127.0.0.1:1",
      "import",
      file("one.csv", "name\nx\n"),
    ]);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toContain("cannot reach the service");
    expect((await cli(["export", "--filter", "name = "])).code).toBe(2);
  }, 60_000);
});
