/**
 * What the service reads off a PostgreSQL URL that may list several hosts
 * ("postgres://u:p@h1:5432,h2:5432/db?target_session_attrs=primary"), which WHATWG URL
 * parsing refuses. Pure: config.ts checks URLs with it, db.ts connects with it.
 */
const parts = /^(postgres(?:ql)?:\/\/(?:[^@/]*@)?)([^/?]*)(.*)$/;

/** Each host of the URL on its own, as a URL of one host. */
export function hostUrls(url: string): string[] {
  const match = parts.exec(url);
  if (!match) throw new Error("not a postgres:// URL");
  const [, head, hosts, tail] = match as unknown as [string, string, string, string];
  return hosts.split(",").map((host) => `${head}${host}${tail}`);
}

/** The URL's target_session_attrs, if it sets one. */
export const sessionAttrsOf = (url: string): string | undefined =>
  /[?&]target_session_attrs=([^&]*)/.exec(url)?.[1];
