import { SignJWT } from "jose";

export interface TestIssuer {
  /** The HS256 key the service is configured with. */
  key: Uint8Array;
  issuer: string;
  audience: string;
  /**
   * A signed token with `claims` (e.g. `{ sub, role }`); `options` bend the rest, to test
   * what the service refuses.
   */
  sign(
    claims: Record<string, unknown>,
    options?: { key?: Uint8Array; expiresIn?: string; iss?: string; aud?: string },
  ): Promise<string>;
}

/** Issues HS256 bearer tokens as an identity provider would, for the service under test. */
export function createTestIssuer(secret: string): TestIssuer {
  const key = new TextEncoder().encode(secret);
  const issuer = "https://idp.example.com";
  const audience = "customer-inventory";
  return {
    key,
    issuer,
    audience,
    sign: (claims, options = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer(options.iss ?? issuer)
        .setAudience(options.aud ?? audience)
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? "5m")
        .sign(options.key ?? key),
  };
}
