import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, redactUrl } from "../../src/config.js";

describe("loadConfig()", () => {
  it("has the documented defaults", () => {
    expect(loadConfig({})).toMatchObject({
      host: "127.0.0.1",
      port: 8080,
      databaseUrl: undefined,
      dataDir: "./.data",
      logLevel: "info",
      dbPoolSize: 10,
      maxMessageBytes: 4 * 1024 * 1024,
    });
  });

  it("reads every variable and freezes the result", () => {
    const config = loadConfig({
      HOST: "::1",
      PORT: "9090",
      DATABASE_URL: "postgres://u@db/x",
      DATA_DIR: "/var/lib/ci",
      LOG_LEVEL: "debug",
      PAGE_TOKEN_SECRET: "s".repeat(32),
    });
    expect(config).toMatchObject({ host: "::1", port: 9090, databaseUrl: "postgres://u@db/x" });
    expect(config.pageTokenSecret?.length).toBe(32);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    ["PORT", "eighty"],
    ["PORT", "70000"],
    ["LOG_LEVEL", "loud"],
    ["DATABASE_URL", "mysql://x"],
    ["PAGE_TOKEN_SECRET", "short"],
    ["DB_POOL_SIZE", "0"],
    ["CORS_ORIGINS", "https://ok.example.com, javascript:alert(1)"],
    ["TLS_CERT_FILE", "/etc/cert.pem"],
    ["GRPC_FAST_PATH", "maybe"],
    ["IDLE_TIMEOUT_MS", "10"],
  ])("fails fast on a bad %s", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});

describe("CORS_ORIGINS", () => {
  it("reads a comma list of origins, none by default", () => {
    expect(loadConfig({}).corsAllowedOrigins).toEqual([]);
    expect(
      loadConfig({ CORS_ORIGINS: " https://a.example.com ,http://127.0.0.1:5173" })
        .corsAllowedOrigins,
    ).toEqual(["https://a.example.com", "http://127.0.0.1:5173"]);
  });
});

describe("redactUrl()", () => {
  it("hides the password", () => {
    expect(redactUrl("postgres://user:hunter2@db:5432/x")).toBe("postgres://user:***@db:5432/x");
  });
});
