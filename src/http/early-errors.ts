import { Code } from "@connectrpc/connect";
import { encodeEnvelope, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import {
  codeFromHttpStatus,
  codeFromString,
  endStreamFlag,
} from "@connectrpc/connect/protocol-connect";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { withRequestId } from "../interceptors/context.js";
import type { CallState } from "../observability/call-log.js";

/**
 * Connect answers some calls before any interceptor runs: an undecodable or oversized
 * message, a malformed timeout, an unsupported compression. Such an answer still owes what
 * every answer has (the contract): the request id in an INTERNAL message, and a log line.
 * This wraps Connect's response so that, as it is written and only for a call no
 * interceptor finished (`call.logged` still false), the error's code is read from where
 * its protocol carries it, an INTERNAL message gets the request id, and `finish` is told
 * the code.
 */
export function finishEarlyErrors(
  response: UniversalServerResponse,
  call: CallState,
  finish: (code: Code | "ok") => void,
): UniversalServerResponse {
  // Nearly always an interceptor has finished the call by now: nothing to do.
  if (call.logged) return response;
  const trailers = [response.trailer, response.header];
  const { body } = response;
  if (body === undefined || body instanceof Uint8Array) {
    if (!call.logged) finish(response.status === 200 ? "ok" : codeFromHttpStatus(response.status));
    return response;
  }
  return {
    ...response,
    body: (async function* () {
      let code: Code | "ok" | undefined;
      for await (const chunk of body) {
        if (call.logged) {
          yield chunk;
          continue;
        }
        const read = readErrorChunk(chunk, response, call.requestId);
        code ??= read.code;
        yield read.chunk;
      }
      if (call.logged) return;
      // gRPC: the status is in the trailers (or, trailers-only, in the headers).
      for (const headers of trailers) {
        const status = headers?.get("grpc-status");
        if (status === null || status === undefined) continue;
        code = Number(status) === 0 ? "ok" : (Number(status) as Code);
        if (code === Code.Internal) withIdInGrpcMessage(headers as Headers, call.requestId);
        break;
      }
      finish(code ?? (response.status === 200 ? "ok" : codeFromHttpStatus(response.status)));
    })(),
  };
}

/**
 * An error in a body chunk: Connect unary's JSON error, a gRPC-Web trailer frame or a
 * Connect end-stream frame. Compressed chunks are passed on as they are.
 */
function readErrorChunk(
  chunk: Uint8Array,
  response: UniversalServerResponse,
  requestId: string,
): { chunk: Uint8Array; code?: Code | "ok" } {
  const header = response.header ?? new Headers();
  const contentType = header.get("content-type") ?? "";
  if (response.status !== 200 && contentType.startsWith("application/json")) {
    if (header.has("content-encoding")) return { chunk };
    const rewritten = rewriteJsonError(chunk, requestId, (json) => json);
    if (rewritten) header.set("content-length", String(rewritten.chunk.byteLength));
    return rewritten ?? { chunk };
  }
  const grpcWeb = contentType.startsWith("application/grpc-web");
  const connectStream = contentType.startsWith("application/connect+");
  const flags = chunk[0];
  if ((!grpcWeb && !connectStream) || chunk.byteLength < 5 || flags === undefined) {
    return { chunk };
  }
  const data = chunk.subarray(5);
  if (grpcWeb && flags === trailerFlag) {
    const trailer = trailerParse(data);
    const status = Number(trailer.get("grpc-status"));
    if (status === Code.Internal) withIdInGrpcMessage(trailer, requestId);
    return {
      chunk: encodeEnvelope(trailerFlag, trailerSerialize(trailer)),
      code: status === 0 ? "ok" : status,
    };
  }
  if (connectStream && flags === endStreamFlag) {
    const rewritten = rewriteJsonError(data, requestId, (json) => json.error);
    if (!rewritten) return { chunk, code: "ok" };
    return { chunk: encodeEnvelope(endStreamFlag, rewritten.chunk), code: rewritten.code };
  }
  return { chunk };
}

/** JSON holding a Connect error (at `errorIn(json)`), with the request id in an INTERNAL message. */
function rewriteJsonError(
  bytes: Uint8Array,
  requestId: string,
  errorIn: (json: Record<string, unknown>) => unknown,
): { chunk: Uint8Array; code: Code } | undefined {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const error = errorIn(json) as { code?: string; message?: string } | undefined;
  const code = error?.code === undefined ? undefined : codeFromString(error.code);
  if (error === undefined || code === undefined) return undefined;
  if (code === Code.Internal) error.message = withRequestId(error.message ?? "", requestId);
  return { chunk: new TextEncoder().encode(JSON.stringify(json)), code };
}

function withIdInGrpcMessage(headers: Headers, requestId: string) {
  const message = decodeURIComponent(headers.get("grpc-message") ?? "");
  headers.set("grpc-message", encodeURIComponent(withRequestId(message, requestId)));
}
