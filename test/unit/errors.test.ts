import { Code } from "@connectrpc/connect";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { describe, expect, it } from "vitest";
import {
  ErrorInfoSchema,
  PreconditionFailureSchema,
} from "../../gen/google/rpc/error_details_pb.js";
import { customerHasServiceInstances, invalidField } from "../../src/errors.js";
import { toConnectError } from "../../src/interceptors/error-mapping.js";
import type { Logger } from "../../src/observability/log.js";
import { classifyDriverError, driverErrorOf } from "../../src/store/driver-errors.js";

function recordingLogger() {
  const entries: { level: string; obj: object; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg: string) => entries.push({ level, obj, msg });
  const logger: Logger = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
  };
  return { logger, entries };
}

const driverError = (code: string, message = "driver says no") =>
  Object.assign(new Error(message), { code, constraint_name: "customers_name_key_unique" });

describe("toConnectError()", () => {
  it("keeps a domain error's code, reason and details", () => {
    const { logger } = recordingLogger();
    const err = toConnectError(customerHasServiceInstances("C1", 25, ["I1", "I2"]), {
      requestId: "r",
      procedure: "p",
      logger,
      classify: classifyDriverError,
    });
    expect(err.code).toBe(Code.FailedPrecondition);
    const [info] = err.findDetails(ErrorInfoSchema);
    expect(info).toMatchObject({
      reason: "CUSTOMER_HAS_SERVICE_INSTANCES",
      domain: "customerinventory.v1",
      metadata: { customer_id: "C1", service_instance_count: "25" },
    });
    expect(err.findDetails(PreconditionFailureSchema)[0]?.violations.map((v) => v.subject)).toEqual(
      ["I1", "I2"],
    );
  });

  it("turns anything unexpected into INTERNAL with the request id, logging the cause", () => {
    const { logger, entries } = recordingLogger();
    const cause = new DrizzleQueryError('select * from "secret_table"', [], driverError("42P01"));
    const err = toConnectError(cause, {
      requestId: "req-9",
      procedure: "p",
      logger,
      classify: classifyDriverError,
    });
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).toBe("internal error (request id req-9)");
    expect(err.details).toHaveLength(1);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({
      reason: "INTERNAL",
      metadata: { request_id: "req-9" },
    });
    expect(entries).toEqual([
      expect.objectContaining({ level: "error", obj: expect.objectContaining({ err: cause }) }),
    ]);
  });

  it("recognizes a lost database behind drizzle's wrapper as UNAVAILABLE", () => {
    const { logger } = recordingLogger();
    for (const code of ["ECONNREFUSED", "CONNECTION_CLOSED", "57P01", "08006"]) {
      const wrapped = new DrizzleQueryError("select 1", [], driverError(code));
      const err = toConnectError(wrapped, {
        requestId: "r",
        procedure: "p",
        logger,
        classify: classifyDriverError,
      });
      expect(err.code, code).toBe(Code.Unavailable);
      expect(err.rawMessage).toContain("(request id r)");
    }
  });

  it("never rewrites a ConnectError raised by the framework", () => {
    const { logger } = recordingLogger();
    const domain = toConnectError(invalidField("id", "bad"), {
      requestId: "r",
      procedure: "p",
      logger,
      classify: classifyDriverError,
    });
    expect(
      toConnectError(domain, {
        requestId: "r",
        procedure: "p",
        logger,
        classify: classifyDriverError,
      }),
    ).toBe(domain);
  });
});

describe("driverErrorOf()", () => {
  it("finds SQLSTATE and constraint on the cause chain", () => {
    const wrapped = new DrizzleQueryError("insert", [], driverError("23505"));
    expect(driverErrorOf(wrapped)).toMatchObject({
      code: "23505",
      constraint_name: "customers_name_key_unique",
    });
    expect(driverErrorOf(new Error("plain"))).toBeUndefined();
  });
});
