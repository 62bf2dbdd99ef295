/**
 * Whether a suite that needs tools outside npm (Chromium, Go, Java, Python grpcio, PgBouncer)
 * can run. Outside CI a missing tool skips the suite with a message saying what to install;
 * in CI (CI=true), where .ci/run installs them, it fails the suite instead: a skip there
 * would hide a broken install.
 */
export function toolsPresent(suite: string, missing: string[], install: string): boolean {
  if (missing.length === 0) return true;
  const message = `${suite}: missing ${missing.join(", ")} (${install})`;
  if (process.env.CI === "true") {
    throw new Error(`${message}; CI runs every suite, and .ci/run should have installed them`);
  }
  console.warn(`skipping ${message}`);
  return false;
}
