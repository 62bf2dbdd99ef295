import { defineConfig } from "vitest/config";

// .ci/run asks for a JSON report too, to print a plain "N passed, N failed" line.
const jsonReport = process.env.VITEST_JSON_REPORT;

export default defineConfig({
  test: {
    reporters: jsonReport ? ["default", ["json", { outputFile: jsonReport }]] : ["default"],
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Timing belongs in benchmarks (npm run bench), not in tests.
    slowTestThreshold: 5_000,
  },
});
