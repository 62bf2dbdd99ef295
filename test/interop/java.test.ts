import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { toolsPresent } from "../support/tools.js";
import { expectRoundTrip } from "./round-trip.js";

// A Java client generated with Debian's protoc and grpc_java_plugin, compiled with plain javac
// against the jars of Debian's grpc-java (.ci/run installs them). google/rpc/error_details.proto
// is generated here too: Debian's common protos lack ErrorInfo.

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const JARS = "/usr/share/java";
/** What grpc-java's blocking stubs over Netty load, by the names Debian gives the jars. */
const jars = [
  "protobuf",
  "grpc-api",
  "grpc-context",
  "grpc-core",
  "grpc-netty",
  "grpc-protobuf",
  "grpc-protobuf-lite",
  "grpc-stub",
  "guava",
  "perfmark-api",
  "gson",
  "geronimo-annotation-1.3-spec",
  "error_prone_annotations",
  "jsr305",
  "netty-buffer",
  "netty-codec",
  "netty-codec-http",
  "netty-codec-http2",
  "netty-codec-socks",
  "netty-common",
  "netty-handler",
  "netty-handler-proxy",
  "netty-resolver",
  "netty-transport",
].map((name) => path.join(JARS, `${name}.jar`));
const needed: [string, string][] = [
  ["javac", "/usr/bin/javac"],
  ["java", "/usr/bin/java"],
  ["protoc", "/usr/bin/protoc"],
  ["grpc_java_plugin", "/usr/bin/grpc_java_plugin"],
  ...jars.map((jar): [string, string] => [path.basename(jar), jar]),
];
const available = toolsPresent(
  "the Java interop test",
  needed.filter(([, file]) => !existsSync(file)).map(([name]) => name),
  "apt-get install -y default-jdk-headless libgrpc-java protobuf-compiler-grpc-java-plugin libprotobuf-java libnetty-java libperfmark-java libgoogle-gson-java libgeronimo-annotation-1.3-spec-java",
);

const javaFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".java"))
    .map((f) => path.join(dir, f));

let server: TestServer;
let work: string;
let classpath: string;
beforeAll(async () => {
  if (!available) return;
  server = await startTestServer();
  work = mkdtempSync(path.join(tmpdir(), "java-client-"));
  const src = path.join(work, "src");
  const classes = path.join(work, "classes");
  mkdirSync(src);
  mkdirSync(classes);
  await run(
    "/usr/bin/protoc",
    [
      "-Iproto",
      "-Inode_modules/google-proto-files",
      `--java_out=${src}`,
      `--grpc-java_out=${src}`,
      "--plugin=protoc-gen-grpc-java=/usr/bin/grpc_java_plugin",
      "proto/customerinventory/v1/resources.proto",
      "proto/customerinventory/v1/customer_inventory_service.proto",
      "proto/customerinventory/v1/service_instance_service.proto",
      "google/rpc/error_details.proto",
      "google/rpc/status.proto",
    ],
    { cwd: root },
  );
  await run(
    "/usr/bin/javac",
    [
      "-nowarn",
      "-d",
      classes,
      "-cp",
      jars.join(":"),
      ...javaFiles(src),
      path.join(root, "test/interop/java/JavaClient.java"),
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  classpath = [classes, ...jars].join(":");
}, 240_000);
afterAll(async () => {
  if (!available) return;
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!available)("a generated Java gRPC client (grpc-java)", () => {
  it("creates, gets, lists page by page, decodes a refused delete's and a bad create's details, and deletes", async () => {
    const { stdout } = await run("/usr/bin/java", [
      "-cp",
      classpath,
      "JavaClient",
      `127.0.0.1:${server.port}`,
    ]);
    expectRoundTrip(JSON.parse(stdout), {
      names: ["Java Alpha", "Java Beta", "Java Gamma"],
      codes: { failedPrecondition: "FAILED_PRECONDITION", invalidArgument: "INVALID_ARGUMENT" },
    });
  }, 60_000);
});
