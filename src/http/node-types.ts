import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

/** A request as Node's HTTP/1.1 server or its HTTP/2 compatibility API hands it over. */
export type NodeRequest = IncomingMessage | Http2ServerRequest;

/** The response that goes with a {@link NodeRequest}. */
export type NodeResponse = ServerResponse | Http2ServerResponse;
