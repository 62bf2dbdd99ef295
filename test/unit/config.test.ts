import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, redactUrl } from "../../src/config.js";

describe("loadConfig()", () => {
  it("has the documented defaults", () => {
    expect(loadConfig({})).toMatchObject({
      host: "127.0.0.1",
      port: 8080,
      databaseUrl: undefined,
      dataDir: "./.data",
      uiDir: "./ui/dist",
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
      UI_DIR: "/srv/page",
      LOG_LEVEL: "debug",
      PAGE_TOKEN_SECRET: "s".repeat(32),
    });
    expect(config).toMatchObject({
      host: "::1",
      port: 9090,
      databaseUrl: "postgres://u@db/x",
      uiDir: "/srv/page",
    });
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
    ["DB_PREPARE", "sometimes"],
    ["DEFAULT_DEADLINE_MS", "0"],
    ["AUTH_JWT_SECRET", "short"],
    ["AUTH_ISSUER", "https://idp.example.com"],
  ])("fails fast on a bad %s", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});

describe("safe defaults", () => {
  const auth = {
    AUTH_JWT_SECRET: "k".repeat(32),
    AUTH_ISSUER: "https://idp.example.com",
    AUTH_AUDIENCE: "customer-inventory",
  };

  it("listens beyond loopback only with authentication", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) {
      expect(loadConfig({ HOST: host }).auth).toBeUndefined();
    }
    for (const host of ["0.0.0.0", "::", "10.0.0.5"]) {
      expect(() => loadConfig({ HOST: host })).toThrow(
        /refusing to listen on .* without authentication/,
      );
      expect(loadConfig({ HOST: host, ...auth }).auth).toMatchObject({
        issuer: "https://idp.example.com",
        audience: "customer-inventory",
      });
    }
  });

  it("needs an issuer and an audience, and one kind of key", () => {
    expect(() => loadConfig({ AUTH_JWT_SECRET: "k".repeat(32) })).toThrow(
      /AUTH_ISSUER and AUTH_AUDIENCE/,
    );
    expect(() => loadConfig({ ...auth, AUTH_JWKS_FILE: "/etc/jwks.json" })).toThrow(/not both/);
    expect(
      loadConfig({ ...auth, AUTH_JWT_SECRET: "", AUTH_JWKS_FILE: "/etc/jwks.json" }).auth,
    ).toMatchObject({ jwksFile: "/etc/jwks.json", secret: undefined });
  });

  it("needs PAGE_TOKEN_SECRET in production, where replicas must share it", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/PAGE_TOKEN_SECRET is required/);
    expect(
      loadConfig({ NODE_ENV: "production", PAGE_TOKEN_SECRET: "p".repeat(32) }).pageTokenSecret,
    ).toEqual(Buffer.from("p".repeat(32)));
  });

  it("bounds deadlines: a default for calls that send none, a maximum", () => {
    expect(loadConfig({})).toMatchObject({ defaultDeadlineMs: 10_000, maxDeadlineMs: 60_000 });
    expect(() => loadConfig({ DEFAULT_DEADLINE_MS: "5000", MAX_DEADLINE_MS: "1000" })).toThrow(
      /must not exceed/,
    );
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

  it("hides it in a URL that lists several hosts", () => {
    expect(redactUrl("postgres://user:hunter2@h1:5432,h2:5432/x")).toBe(
      "postgres://user:***@h1:5432,h2:5432/x",
    );
  });
});

describe("a PostgreSQL cluster", () => {
  it("connects a URL of several hosts to the primary", () => {
    expect(loadConfig({ DATABASE_URL: "postgres://u:p@h1:5432,h2:5432/db" }).databaseUrl).toBe(
      "postgres://u:p@h1:5432,h2:5432/db?target_session_attrs=primary",
    );
    expect(
      loadConfig({ DATABASE_URL: "postgres://u:p@h1,h2/db?sslmode=require" }).databaseUrl,
    ).toBe("postgres://u:p@h1,h2/db?sslmode=require&target_session_attrs=primary");
    expect(loadConfig({ DATABASE_URL: "postgres://u:p@h1/db" }).databaseUrl).toBe(
      "postgres://u:p@h1/db",
    );
  });

  it("refuses target_session_attrs that do not find the primary with postgres.js", () => {
    for (const attrs of ["read-write", "read-only", "standby", "prefer-standby"]) {
      expect(() =>
        loadConfig({ DATABASE_URL: `postgres://u:p@h1,h2/db?target_session_attrs=${attrs}` }),
      ).toThrow(/target_session_attrs=primary/);
    }
  });

  it("reads DATABASE_READ_URL and the replica settings, which need DATABASE_URL", () => {
    const config = loadConfig({
      DATABASE_URL: "postgres://u:p@h1,h2,h3/db",
      DATABASE_READ_URL: "postgres://u:p@h2,h3/db",
      DB_POOL_SIZE: "7",
      REPLICA_MAX_LAG_MS: "250",
      REPLICA_WAIT_MS: "5",
    });
    expect(config).toMatchObject({
      databaseReadUrl: "postgres://u:p@h2,h3/db",
      dbReadPoolSize: 7,
      replicaMaxLagMs: 250,
      replicaWaitMs: 5,
    });
    expect(() => loadConfig({ DATABASE_READ_URL: "postgres://u:p@h2/db" })).toThrow(ConfigError);
    expect(() =>
      loadConfig({ DATABASE_URL: "postgres://u:p@h1/db", DATABASE_READ_URL: "mysql://h2/db" }),
    ).toThrow(/DATABASE_READ_URL/);
  });
});
