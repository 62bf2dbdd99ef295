import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/log.js";

describe("createLogger()", () => {
  it("writes one JSON line per entry at or above its level, errors with their cause", () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "info", destination: { write: (l) => lines.push(l) } });
    logger.debug({}, "hidden");
    logger.info({ requestId: "r1" }, "call");
    logger.error({ err: new Error("outer", { cause: new Error("inner") }) }, "failed");
    expect(lines).toHaveLength(2);
    const [call, failed] = lines.map((l) => JSON.parse(l));
    expect(call).toMatchObject({ level: "info", msg: "call", requestId: "r1" });
    expect(new Date(call.time).toISOString()).toBe(call.time);
    expect(failed).toMatchObject({ level: "error", msg: "failed" });
    expect(failed.err.message).toBe("outer");
    expect(failed.err.stack).toContain("Error: outer");
    expect(failed.err.cause.message).toBe("inner");
  });

  it("writes nothing when silent", () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "silent", destination: { write: (l) => lines.push(l) } });
    logger.error({}, "not written");
    expect(lines).toEqual([]);
  });
});
