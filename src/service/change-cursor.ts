import { queryTextProblem } from "../domain/text.js";
import { invalidField } from "../errors.js";
import type { FeedPosition } from "../feed/change-feed.js";
import type { TokenSigner } from "./signed-token.js";

/** Longer cursors are refused before any decoding. */
export const MAX_CURSOR_LENGTH = 8192;

interface Payload {
  /** What the token is: a change-feed position. */
  k: "feed";
  /** The position, as a decimal string (int64). */
  p: string;
  /** A start snapshot (xmin, xmax, running ids) whose committed changes are skipped. */
  s?: [string, string, string[]];
}

const isDecimal = (v: unknown): v is string => typeof v === "string" && /^-?\d{1,20}$/.test(v);

export interface ChangeCursorCodec {
  encode(position: FeedPosition): string;
  /** INVALID_ARGUMENT on `field` for anything this service did not hand out. */
  decode(token: string, field: string): FeedPosition;
}

/**
 * Watch cursors: signed like page tokens, and without expiry of their own (the feed's
 * retention decides when one is too old). Encodings of the same position are cached:
 * every caught-up watcher of a process is sent the same cursor.
 */
export function createChangeCursorCodec(signer: TokenSigner): ChangeCursorCodec {
  const cache = new Map<bigint, string>();
  return {
    encode({ position, skip }) {
      if (skip) {
        return signer.sign({
          k: "feed",
          p: position.toString(),
          s: [skip.xmin.toString(), skip.xmax.toString(), skip.xip.map(String)],
        } satisfies Payload);
      }
      let token = cache.get(position);
      if (token === undefined) {
        token = signer.sign({ k: "feed", p: position.toString() } satisfies Payload);
        if (cache.size >= 4096) cache.clear();
        cache.set(position, token);
      }
      return token;
    },

    decode(token, field) {
      const invalid = (description: string) => invalidField(field, description, "INVALID_CURSOR");
      const problem = queryTextProblem(token, MAX_CURSOR_LENGTH);
      if (problem) throw invalid(problem.description);
      const payload = signer.verify(token) as Payload | undefined;
      if (payload?.k !== "feed" || !isDecimal(payload.p)) {
        throw invalid("is not a cursor of this service's change feed");
      }
      const s = payload.s;
      if (s === undefined) return { position: BigInt(payload.p) };
      if (
        !Array.isArray(s) ||
        !isDecimal(s[0]) ||
        !isDecimal(s[1]) ||
        !Array.isArray(s[2]) ||
        !s[2].every(isDecimal)
      ) {
        throw invalid("is not a cursor of this service's change feed");
      }
      return {
        position: BigInt(payload.p),
        skip: { xmin: BigInt(s[0]), xmax: BigInt(s[1]), xip: s[2].map(BigInt) },
      };
    },
  };
}
