import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { toolsPresent } from "../support/tools.js";
import { expectRoundTrip } from "./round-trip.js";

// A Go client generated with Debian's protoc, protoc-gen-go and protoc-gen-go-grpc, built
// offline in GOPATH mode against Debian's grpc-go and genproto (.ci/run installs them). The
// protos' go_package option is all it needs: no per-user flags.

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const GOCODE = "/usr/share/gocode";
const needed: [string, string][] = [
  ["go", "/usr/bin/go"],
  ["protoc", "/usr/bin/protoc"],
  ["protoc-gen-go", "/usr/bin/protoc-gen-go"],
  ["protoc-gen-go-grpc", "/usr/bin/protoc-gen-go-grpc"],
  ["grpc-go", `${GOCODE}/src/google.golang.org/grpc`],
  ["genproto errdetails", `${GOCODE}/src/google.golang.org/genproto/googleapis/rpc/errdetails`],
];
const available = toolsPresent(
  "the Go interop test",
  needed.filter(([, file]) => !existsSync(file)).map(([name]) => name),
  "apt-get install -y golang-go golang-google-grpc-dev golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev protoc-gen-go protoc-gen-go-grpc",
);

let server: TestServer;
let gopath: string;
let client: string;
beforeAll(async () => {
  if (!available) return;
  server = await startTestServer();
  gopath = mkdtempSync(path.join(tmpdir(), "go-client-"));
  const src = path.join(gopath, "src");
  mkdirSync(path.join(src, "interopclient"), { recursive: true });
  await run(
    "/usr/bin/protoc",
    [
      "-Iproto",
      `--go_out=${src}`,
      `--go-grpc_out=${src}`,
      "proto/customerinventory/v1/resources.proto",
      "proto/customerinventory/v1/customer_inventory_service.proto",
      "proto/customerinventory/v1/service_instance_service.proto",
    ],
    { cwd: root },
  );
  copyFileSync(path.join(root, "test/interop/go/main.go"), path.join(src, "interopclient/main.go"));
  client = path.join(gopath, "client");
  await run("/usr/bin/go", ["build", "-o", client, "."], {
    cwd: path.join(src, "interopclient"),
    env: {
      ...process.env,
      GO111MODULE: "off",
      GOPATH: `${gopath}:${GOCODE}`,
      GOPROXY: "off",
      GOFLAGS: "",
      GOCACHE: process.env.GOCACHE ?? path.join(tmpdir(), "customer-inventory-go-cache"),
    },
  });
}, 240_000);
afterAll(async () => {
  if (!available) return;
  await server.close();
  rmSync(gopath, { recursive: true, force: true });
});

describe.skipIf(!available)("a generated Go gRPC client (grpc-go)", () => {
  it("creates, gets, lists page by page, decodes a refused delete's and a bad create's details, and deletes", async () => {
    const { stdout } = await run(client, [`127.0.0.1:${server.port}`]);
    expectRoundTrip(JSON.parse(stdout), {
      names: ["Go Alpha", "Go Beta", "Go Gamma"],
      codes: { failedPrecondition: "FailedPrecondition", invalidArgument: "InvalidArgument" },
    });
  });
});
