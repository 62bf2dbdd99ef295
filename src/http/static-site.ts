import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { brotliCompressSync, gzipSync, constants as zlibConstants } from "node:zlib";
import type { NodeRequest, NodeResponse } from "./node-types.js";

/** One file of the built page, held in memory with its compressed forms. */
interface StaticFile {
  body: Buffer;
  gzip?: Buffer;
  brotli?: Buffer;
  type: string;
  etag: string;
  cacheControl: string;
}

export interface StaticSite {
  /** Answers GET and HEAD for the site's files; returns false for anything else. */
  serve(req: NodeRequest, res: NodeResponse): boolean;
}

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

/** The page calls only its own origin; nothing may frame it. */
const securityHeaders = {
  "content-security-policy":
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const compressible = (type: string) => /^(text\/|image\/svg|application\/json)/.test(type);

/**
 * The Customer Inventory page built by Vite, served from memory: `files` maps URL paths
 * (`/index.html`, `/assets/index-3f2a.js`) to their bytes. Files under `/assets/` carry a
 * content hash in their names and are cached for a year; the rest are revalidated by ETag.
 */
export function createStaticSite(files: ReadonlyMap<string, Buffer>): StaticSite {
  const site = new Map<string, StaticFile>();
  for (const [path, body] of files) {
    const type = contentTypes[path.slice(path.lastIndexOf("."))] ?? "application/octet-stream";
    const worthIt = compressible(type) && body.length > 512;
    site.set(path, {
      body,
      gzip: worthIt ? gzipSync(body, { level: 9 }) : undefined,
      brotli: worthIt
        ? brotliCompressSync(body, {
            params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 },
          })
        : undefined,
      type,
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
      cacheControl: path.startsWith("/assets/")
        ? "public, max-age=31536000, immutable"
        : "no-cache",
    });
  }
  const index = site.get("/index.html");
  if (index) site.set("/", index);

  return {
    serve(req, res) {
      if (req.method !== "GET" && req.method !== "HEAD") return false;
      const path = (req.url ?? "").split("?", 1)[0] ?? "";
      const file = site.get(path);
      if (!file) return false;
      const headers: Record<string, string> = {
        "content-type": file.type,
        "cache-control": file.cacheControl,
        etag: file.etag,
        vary: "accept-encoding",
        ...(file.type.startsWith("text/html") ? securityHeaders : {}),
      };
      if (req.headers["if-none-match"] === file.etag) {
        res.writeHead(304, headers);
        res.end();
        return true;
      }
      const accepted = String(req.headers["accept-encoding"] ?? "");
      let body = file.body;
      if (file.brotli && /\bbr\b/.test(accepted)) {
        body = file.brotli;
        headers["content-encoding"] = "br";
      } else if (file.gzip && /\bgzip\b/.test(accepted)) {
        body = file.gzip;
        headers["content-encoding"] = "gzip";
      }
      headers["content-length"] = String(body.length);
      res.writeHead(200, headers);
      if (req.method === "HEAD") res.end();
      else res.end(body);
      return true;
    },
  };
}

/** Every file under `dir` by its URL path; undefined when `dir` does not exist (not built). */
export async function readSiteFiles(dir: string): Promise<Map<string, Buffer> | undefined> {
  let entries: string[];
  try {
    entries = await readdir(dir, { recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const files = new Map<string, Buffer>();
  for (const entry of entries) {
    const full = join(dir, entry);
    try {
      files.set(`/${relative(dir, full).split(sep).join("/")}`, await readFile(full));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EISDIR") throw err;
    }
  }
  return files;
}
