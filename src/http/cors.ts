import { cors } from "@connectrpc/connect";
import type { NodeRequest, NodeResponse } from "./node-types.js";

/**
 * CORS for browsers calling with Connect-web or gRPC-Web from `allowedOrigins` (`*` for any).
 * Returns whether it answered the request itself (a preflight); otherwise it has added the
 * headers the actual response needs, and the request goes on to the router.
 */
export function createCors(allowedOrigins: readonly string[]) {
  const allowAny = allowedOrigins.includes("*");
  const allowHeaders = [
    ...cors.allowedHeaders,
    "Authorization",
    "X-Request-Id",
    "X-Consistency-Token",
  ].join(", ");
  const exposeHeaders = [...cors.exposedHeaders, "X-Request-Id", "X-Consistency-Token"].join(", ");
  return (req: NodeRequest, res: NodeResponse): boolean => {
    const origin = req.headers.origin;
    if (typeof origin !== "string" || !(allowAny || allowedOrigins.includes(origin))) {
      return false;
    }
    res.setHeader("Access-Control-Allow-Origin", origin);
    res.setHeader("Vary", "Origin");
    if (req.method === "OPTIONS" && req.headers["access-control-request-method"]) {
      res.writeHead(204, {
        "Access-Control-Allow-Methods": cors.allowedMethods.join(", "),
        "Access-Control-Allow-Headers": allowHeaders,
        "Access-Control-Max-Age": "7200",
      });
      res.end();
      return true;
    }
    res.setHeader("Access-Control-Expose-Headers", exposeHeaders);
    return false;
  };
}
