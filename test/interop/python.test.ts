import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { toolsPresent } from "../support/tools.js";

// A Python client generated here with Debian's protoc and grpc_python_plugin, run with Debian's
// python3 and python3-grpcio (.ci/run installs them). The suite says so and skips when they
// are missing (and fails in CI).

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const python = "/usr/bin/python3";
const plugin = "/usr/bin/grpc_python_plugin";

async function pythonGrpcAvailable(): Promise<boolean> {
  if (!existsSync(python) || !existsSync(plugin) || !existsSync("/usr/bin/protoc")) return false;
  try {
    await run(python, ["-c", "import grpc, google.protobuf"]);
    return true;
  } catch {
    return false;
  }
}

const available = toolsPresent(
  "the Python interop test",
  (await pythonGrpcAvailable()) ? [] : ["python3-grpcio with protoc and grpc_python_plugin"],
  "apt-get install -y python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc",
);

let server: TestServer;
let generated: string;
beforeAll(async () => {
  if (!available) return;
  server = await startTestServer();
  generated = mkdtempSync(path.join(tmpdir(), "python-client-"));
  await run(
    "/usr/bin/protoc",
    [
      "-Iproto",
      "-Inode_modules/google-proto-files",
      `--python_out=${generated}`,
      `--grpc_python_out=${generated}`,
      `--plugin=protoc-gen-grpc_python=${plugin}`,
      "proto/customerinventory/v1/resources.proto",
      "proto/customerinventory/v1/customer_inventory_service.proto",
      "proto/customerinventory/v1/service_instance_service.proto",
      "google/rpc/error_details.proto",
      "google/rpc/status.proto",
    ],
    { cwd: root },
  );
}, 60_000);
afterAll(async () => {
  if (!available) return;
  await server.close();
  rmSync(generated, { recursive: true, force: true });
});

describe.skipIf(!available)("a generated Python gRPC client (grpcio)", () => {
  it("creates, gets, lists, is refused a delete with its details, and deletes", async () => {
    const { stdout } = await run(python, [
      path.join(root, "test/interop/python_client.py"),
      generated,
      `127.0.0.1:${server.port}`,
    ]);
    const seen = JSON.parse(stdout);
    expect(seen.created.name).toBe("Python Corp");
    expect(seen.got).toBe("PY-1");
    expect(seen.listed).toEqual(["Python Corp"]);
    expect(seen.total).toBe(1);
    expect(seen.instance_customer).toBe(seen.created.id);
    expect(seen.refused).toMatchObject({
      code: "FAILED_PRECONDITION",
      reason: "CUSTOMER_HAS_SERVICE_INSTANCES",
      domain: "customerinventory.v1",
    });
    expect(seen.refused.blockers).toHaveLength(1);
    expect(seen.invalid).toEqual({ code: "INVALID_ARGUMENT", fields: ["customer.name"] });
    expect(seen.deleted).toBe(true);
  });
});
