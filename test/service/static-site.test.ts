import http2 from "node:http2";
import { brotliDecompressSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStaticSite } from "../../src/http/static-site.js";
import { startTestServer, type TestServer } from "../support/server.js";

// The browser page is served from the API's port: with caching that suits hashed assets,
// revalidation of the page itself, compression, and the API answering as before.

const script = `console.log(${JSON.stringify("x".repeat(4000))});`;
const files = new Map([
  ["/index.html", Buffer.from('<!doctype html><script src="/assets/app-1a2b3c.js"></script>')],
  ["/assets/app-1a2b3c.js", Buffer.from(script)],
]);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ staticSite: createStaticSite(files) });
});
afterAll(() => server.close());

async function get(path: string, headers: Record<string, string> = {}, method = "GET") {
  const response = await fetch(`${server.baseUrl}${path}`, { method, headers });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

describe("the page on the API's port", () => {
  it("serves the page at / for revalidation, with a content security policy", async () => {
    const page = await get("/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.body).toContain("/assets/app-1a2b3c.js");
    const etag = page.headers.get("etag") ?? "";
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await get("/", { "if-none-match": etag });
    expect(again.status).toBe(304);
    expect(again.body).toBe("");
  });

  it("caches hashed assets for a year and compresses them", async () => {
    const plain = await get("/assets/app-1a2b3c.js", { "accept-encoding": "identity" });
    expect(plain.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(plain.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(plain.body).toBe(script);

    const session = http2.connect(server.baseUrl);
    try {
      const compressed = await new Promise<{ headers: http2.IncomingHttpHeaders; body: Buffer }>(
        (resolve, reject) => {
          const stream = session.request({
            ":path": "/assets/app-1a2b3c.js",
            "accept-encoding": "gzip, br",
          });
          const chunks: Buffer[] = [];
          let headers: http2.IncomingHttpHeaders = {};
          stream.on("response", (h) => {
            headers = h;
          });
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("end", () => resolve({ headers, body: Buffer.concat(chunks) }));
          stream.on("error", reject);
        },
      );
      expect(compressed.headers["content-encoding"]).toBe("br");
      expect(compressed.headers.vary).toBe("accept-encoding");
      expect(compressed.body.length).toBeLessThan(script.length / 10);
      expect(brotliDecompressSync(compressed.body).toString()).toBe(script);
    } finally {
      session.close();
    }
  });

  it("answers HEAD without a body, and leaves other paths and methods to the API", async () => {
    const head = await get("/", {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
    expect((await get("/assets/missing.js")).status).toBe(404);
    expect((await get("/../../etc/passwd")).status).toBe(404);
    expect((await get("/", {}, "POST")).status).toBe(404);
    const { customers } = await server.clients("connect-json-http1").inventory.listCustomers({});
    expect(customers).toEqual([]);
  });
});
