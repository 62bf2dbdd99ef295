import { readFile } from "node:fs/promises";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type { Interceptor } from "@connectrpc/connect";
import { createLocalJWKSet, type JWTVerifyGetKey, errors as joseErrors, jwtVerify } from "jose";
import type { AuthConfig } from "../config.js";
import type { Caller, Role } from "../domain/types.js";
import { DomainError } from "../errors.js";
import { callerKey } from "./context.js";

const roles: readonly Role[] = ["viewer", "editor", "admin"];
const rank = (role: Role) => roles.indexOf(role);

export interface Authenticator {
  /** The caller an `authorization` header names; UNAUTHENTICATED unless it holds a valid token. */
  authenticate(authorization: string | null): Promise<Caller>;
}

const unauthenticated = (reason: string, message: string) =>
  new DomainError("unauthenticated", reason, message);

/** Verifies `Bearer` JWTs: signature (HS256 or the JWKS's keys), issuer, audience and expiry. */
export function createJwtAuthenticator(options: {
  key: Uint8Array | JWTVerifyGetKey;
  issuer: string;
  audience: string;
}): Authenticator {
  const verifyOptions = {
    issuer: options.issuer,
    audience: options.audience,
    algorithms:
      options.key instanceof Uint8Array
        ? ["HS256"]
        : ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"],
    requiredClaims: ["sub", "exp"],
    clockTolerance: 5,
  };
  return {
    async authenticate(authorization) {
      const token = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(authorization?.trim() ?? "")?.[1];
      if (!token) {
        throw unauthenticated(
          "TOKEN_MISSING",
          "this call needs an authorization header: Bearer <JWT>",
        );
      }
      let payload: Record<string, unknown>;
      try {
        payload = (
          await (options.key instanceof Uint8Array
            ? jwtVerify(token, options.key, verifyOptions)
            : jwtVerify(token, options.key, verifyOptions))
        ).payload;
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) {
          throw unauthenticated("TOKEN_EXPIRED", "the bearer token has expired");
        }
        throw unauthenticated(
          "TOKEN_INVALID",
          "the bearer token is not valid (signature, issuer, audience or claims)",
        );
      }
      const role = payload.role;
      const subject = String(payload.sub);
      if (typeof role !== "string" || !roles.includes(role as Role)) {
        throw new DomainError(
          "permission_denied",
          "ROLE_MISSING",
          `the token carries no role: its "role" claim must be one of ${roles.join(", ")}`,
        );
      }
      return Object.freeze({ subject, role: role as Role, seesAll: role === "admin" });
    },
  };
}

/** The authenticator `config` describes: an HS256 secret or the keys of a JWKS file. */
export async function loadAuthenticator(config: AuthConfig): Promise<Authenticator> {
  const key = config.secret
    ? new TextEncoder().encode(config.secret)
    : createLocalJWKSet(JSON.parse(await readFile(config.jwksFile as string, "utf8")));
  return createJwtAuthenticator({ key, issuer: config.issuer, audience: config.audience });
}

/** Health checking and reflection answer anyone: orchestrators and tools call them unauthenticated. */
const isPublic = (service: string) =>
  service.startsWith("grpc.health.") || service.startsWith("grpc.reflection.");

/**
 * Authenticates every call but the public ones and checks its role before the handler runs,
 * so PERMISSION_DENIED never depends on whether a resource exists. Reads (methods declared
 * NO_SIDE_EFFECTS in the API) need `viewer`, everything else `editor`.
 */
export function createAuthInterceptor({
  authenticator,
}: {
  authenticator: Authenticator;
}): Interceptor {
  return (next) => async (req) => {
    if (isPublic(req.service.typeName)) return next(req);
    const caller = await authenticator.authenticate(req.header.get("authorization"));
    const required: Role =
      req.method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS
        ? "viewer"
        : "editor";
    if (rank(caller.role as Role) < rank(required)) {
      throw new DomainError(
        "permission_denied",
        "ROLE_INSUFFICIENT",
        `${req.method.name} needs the ${required} role; the token has ${caller.role}`,
        { metadata: { role: caller.role as Role, required_role: required } },
      );
    }
    req.contextValues.set(callerKey, caller);
    return next(req);
  };
}
