import { describe, expect, it } from "vitest";
import { createBufferedWriter, createJsonLogger } from "../../src/log.js";

describe("createBufferedWriter()", () => {
  it("batches lines into one write after flushMs, and at once when maxBytes is reached", async () => {
    const writes: string[] = [];
    const out = createBufferedWriter({ write: (c) => writes.push(c), flushMs: 20, maxBytes: 100 });
    out.write("a\n");
    out.write("b\n");
    expect(writes).toEqual([]);
    await new Promise((r) => setTimeout(r, 40));
    expect(writes).toEqual(["a\nb\n"]);
    out.write("x".repeat(100));
    expect(writes).toHaveLength(2);
    out.write("c\n");
    out.flush();
    expect(writes[2]).toBe("c\n");
    out.flush();
    expect(writes).toHaveLength(3);
  });
});

describe("createJsonLogger()", () => {
  it("writes one JSON line per entry at or above its level, errors with their cause", () => {
    const lines: string[] = [];
    const logger = createJsonLogger({ level: "info", write: (l) => lines.push(l) });
    logger.debug({}, "hidden");
    logger.error({ err: new Error("outer", { cause: new Error("inner") }) }, "failed");
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] ?? "");
    expect(entry).toMatchObject({ level: "error", msg: "failed" });
    expect(entry.err.message).toBe("outer");
    expect(entry.err.cause.message).toBe("inner");
  });
});
