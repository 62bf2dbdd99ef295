import { createHash } from "node:crypto";
import { queryTextProblem } from "../domain/text.js";
import type { Cursor, Page } from "../domain/types.js";
import { invalidField } from "../errors.js";
import { createTokenSigner } from "./signed-token.js";

/** What a token is bound to: its RPC and every request field that shapes the result set. */
export interface PageScope {
  rpc: string;
  query: readonly string[];
}

export interface PageTokenCodec {
  /** An opaque, signed token for the page after `cursor`. */
  encode(scope: PageScope, cursor: Cursor): string;
  /**
   * The page `token` points at, read by `read` from the position in it, with the
   * next_page_token after it (empty on the last page).
   */
  readPage<P extends Page<unknown>>(
    scope: PageScope,
    token: string,
    read: (after: Cursor | undefined) => Promise<P>,
  ): Promise<P & { nextPageToken: string }>;
  /** The cursor in `token`, undefined for an empty token; INVALID_ARGUMENT (page_token) otherwise. */
  decode(token: string, scope: PageScope): Cursor | undefined;
}

/** Longer tokens are refused before any decoding. */
export const MAX_PAGE_TOKEN_LENGTH = 4096;
const MAX_CURSOR_KEYS = 16;

export interface PageTokenOptions {
  /** HMAC-SHA256 key, the same on every replica; a function if it is loaded after start. */
  secret: Buffer | (() => Buffer);
  /** How long a token stays valid, in milliseconds. Default: 72 hours. */
  ttlMs?: number;
  now?: () => number;
}

interface Payload {
  /** Hash of the scope. */
  s: string;
  /** The cursor. */
  c: Cursor;
  /** Expiry, seconds since the epoch. */
  e: number;
}

const scopeHash = (scope: PageScope) =>
  createHash("sha256")
    .update(JSON.stringify([scope.rpc, ...scope.query]))
    .digest("base64url")
    .slice(0, 22);

const isCursor = (value: unknown): value is Cursor =>
  Array.isArray(value) &&
  value.length <= MAX_CURSOR_KEYS &&
  value.every((v) => v === null || typeof v === "string" || typeof v === "number");

/**
 * Page tokens: base64url JSON of {scope hash, cursor, expiry}, then a truncated HMAC-SHA256.
 * Tamper-evident (not secret: the cursor holds only sort keys of a row the caller has seen).
 */
export function createPageTokenCodec(options: PageTokenOptions): PageTokenCodec {
  const ttlMs = options.ttlMs ?? 72 * 3600 * 1000;
  const now = options.now ?? Date.now;
  const signer = createTokenSigner(options.secret);
  const invalid = (description: string) =>
    invalidField("page_token", description, "INVALID_PAGE_TOKEN");

  return {
    encode(scope, cursor) {
      const payload: Payload = {
        s: scopeHash(scope),
        c: cursor,
        e: Math.ceil((now() + ttlMs) / 1000),
      };
      return signer.sign(payload);
    },

    async readPage(scope, token, read) {
      const page = await read(this.decode(token, scope));
      return { ...page, nextPageToken: page.next ? this.encode(scope, page.next) : "" };
    },

    decode(token, scope) {
      if (token === "") return undefined;
      const problem = queryTextProblem(token, MAX_PAGE_TOKEN_LENGTH);
      if (problem) throw invalid(problem.description);
      const payload = signer.verify(token) as Payload | undefined;
      if (!payload || !isCursor(payload.c) || typeof payload.e !== "number") {
        throw invalid("is not a valid page token");
      }
      if (payload.s !== scopeHash(scope)) {
        throw invalid(
          "belongs to a different query: a page token only works with the request that returned it",
        );
      }
      if (payload.e * 1000 < now()) throw invalid("has expired; start again from the first page");
      return payload.c;
    },
  };
}
