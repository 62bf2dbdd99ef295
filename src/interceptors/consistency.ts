import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type { Interceptor, StreamResponse } from "@connectrpc/connect";
import { invalidArgument } from "../errors.js";
import type { ReadRouting } from "../store/read-replicas.js";

export const CONSISTENCY_TOKEN_HEADER = "x-consistency-token";

/*
 * The contract's read-your-writes ("Read replicas and consistency"). A token is
 * `c1.<WAL position in hex>`: the primary's position after the write committed. Without read
 * replicas the service does not ask for the position (nothing to wait for) and answers
 * `c1.primary`, which sends a read to the primary wherever it is served. Opaque to clients.
 */
const TOKEN = /^c1\.(?:([0-9a-f]{1,16})|primary)$/;
export function parseConsistencyToken(token: string | null): bigint | "primary" | undefined {
  if (token === null || token === "") return undefined;
  const match = TOKEN.exec(token);
  if (!match) {
    throw invalidArgument(
      [
        {
          field: CONSISTENCY_TOKEN_HEADER,
          description: "not a consistency token this service issued; send one back unchanged",
        },
      ],
      "INVALID_CONSISTENCY_TOKEN",
    );
  }
  return match[1] === undefined ? "primary" : BigInt(`0x${match[1]}`);
}

export const consistencyToken = (position: bigint | undefined) =>
  position === undefined ? "c1.primary" : `c1.${position.toString(16)}`;

/**
 * Reads (NO_SIDE_EFFECTS methods) run on the target `reads` picks for their token, writes
 * on the primary; a write's successful answer carries the token of its commit.
 */
export function createConsistencyInterceptor(
  reads: ReadRouting,
  /** Reads that never go through the reader (the change feed's watch reads the primary). */
  primaryOnly: ReadonlySet<string> = new Set(),
): Interceptor {
  return (next) => async (req) => {
    // Health and reflection touch no customer data.
    if (req.service.typeName.startsWith("grpc.") || primaryOnly.has(req.method.name)) {
      return next(req);
    }
    const floor = parseConsistencyToken(req.header.get(CONSISTENCY_TOKEN_HEADER));
    if (req.method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) {
      // A write, and everything it reads, runs on the primary (the reader outside `run`).
      const res = await next(req);
      // The write has committed: a position that cannot be read now must not fail it. The
      // token without one sends the caller's reads to the primary, which has the write too.
      const position = reads.enabled ? await reads.position().catch(() => undefined) : undefined;
      res.header.set(CONSISTENCY_TOKEN_HEADER, consistencyToken(position));
      return res;
    }
    if (!reads.enabled) return next(req);
    const target = await reads.choose(floor);
    const res = await reads.run(target, () => next(req));
    if (!res.stream) return res;
    // A stream's handler runs as its messages are pulled, after this returns.
    const messages = res.message;
    return {
      ...res,
      message: {
        [Symbol.asyncIterator]() {
          const iterator = messages[Symbol.asyncIterator]();
          return {
            next: () => reads.run(target, () => iterator.next()),
            return: (value?: unknown) =>
              reads.run(
                target,
                () =>
                  iterator.return?.(value) ??
                  Promise.resolve({ done: true as const, value: undefined }),
              ),
          };
        },
      },
    } as StreamResponse;
  };
}
