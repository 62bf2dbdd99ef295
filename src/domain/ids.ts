import { randomBytes } from "node:crypto";
import type { FieldViolation } from "../errors.js";

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ulidPattern = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** A new ULID: 48 bits of milliseconds since the epoch, then 80 random bits, upper case. */
export function newUlid(now: number = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = crockford[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time + randomBase32(16);
}

/** `length` random Crockford base-32 characters. */
export function randomBase32(length: number): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const byte of bytes) out += crockford[byte & 31];
  return out;
}

/**
 * Accepts a ULID in any letter case and returns it upper case, or pushes a violation.
 * An empty value is reported as required.
 */
export function cleanId(
  raw: string,
  field: string,
  violations: FieldViolation[],
): string | undefined {
  if (raw === "") {
    violations.push({ field, description: "is required" });
    return undefined;
  }
  const id = raw.toUpperCase();
  if (raw.length !== 26 || !ulidPattern.test(id)) {
    violations.push({ field, description: "must be a 26-character ULID" });
    return undefined;
  }
  return id;
}
