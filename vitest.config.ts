import { defineConfig } from "vitest/config";

// .ci/run asks for a JSON report too, to print a plain "N passed, N failed" line.
const jsonReport = process.env.VITEST_JSON_REPORT;
// The cluster test (failovers under load, timed against deadlines) runs in a pass of its
// own once the rest is done, on a machine the other suites no longer load (npm test runs
// both passes; VITEST_CLUSTER=1 selects it).
const CLUSTER_TEST = "test/integration/ha-cluster.test.ts";
const clusterPass = process.env.VITEST_CLUSTER === "1";

export default defineConfig({
  test: {
    reporters: jsonReport
      ? [
          "default",
          [
            "json",
            {
              outputFile: clusterPass ? jsonReport.replace(/\.json$/, "-cluster.json") : jsonReport,
            },
          ],
        ]
      : ["default"],
    include: clusterPass ? [CLUSTER_TEST] : ["test/**/*.test.ts"],
    exclude: clusterPass ? [] : [CLUSTER_TEST, "**/node_modules/**"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Timing belongs in benchmarks (npm run bench), not in tests.
    slowTestThreshold: 5_000,
  },
});
