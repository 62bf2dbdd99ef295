import { createHmac, timingSafeEqual } from "node:crypto";

const MAC_BYTES = 16;

/** Opaque tokens the service hands out and must recognise again unaltered. */
export interface TokenSigner {
  /** base64url JSON of `payload`, a dot, and a truncated HMAC-SHA256 of it. */
  sign(payload: unknown): string;
  /** The payload of a token this signer made; undefined for anything else. */
  verify(token: string): unknown;
}

/**
 * Tamper-evident, not secret: payloads hold only positions of records the caller has seen.
 * `key` is the same on every replica; a function if it is loaded after start.
 */
export function createTokenSigner(key: Buffer | (() => Buffer)): TokenSigner {
  const keyOf = typeof key === "function" ? key : () => key;
  const mac = (body: string) =>
    createHmac("sha256", keyOf()).update(body).digest().subarray(0, MAC_BYTES);
  return {
    sign(payload) {
      const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
      return `${body}.${mac(body).toString("base64url")}`;
    },
    verify(token) {
      const [body = "", signature = "", extra] = token.split(".");
      const given = Buffer.from(signature, "base64url");
      if (extra !== undefined || given.length !== MAC_BYTES || !timingSafeEqual(given, mac(body))) {
        return undefined;
      }
      try {
        return JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
      } catch {
        return undefined;
      }
    },
  };
}
