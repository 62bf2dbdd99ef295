import type { DescMethodUnary, DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createConnectRouter,
  createContextValues,
  createHandlerContext,
  createServiceImplSpec,
  type Interceptor,
  type MethodImplSpec,
  type ServiceImpl,
} from "@connectrpc/connect";
import {
  createMethodSerializationLookup,
  invokeUnaryImplementation,
  type UniversalHandler,
} from "@connectrpc/connect/protocol";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import {
  callStateKey,
  fastPathKey,
  newCallState,
  protocolOf,
  REQUEST_ID_HEADER,
  withRequestId,
} from "../interceptors/context.js";
import type { CallLog, CallState } from "../observability/call-log.js";
import { finishEarlyErrors } from "./early-errors.js";
import type { NodeRequest, NodeResponse } from "./node-types.js";

/** Of a refused request body, up to this many times the message limit is read and dropped. */
const DISCARD_FACTOR = 8;

const CALL_DONE = new ConnectError("the call is done", Code.Canceled);
const STREAM_CLOSED = new Error("the request closed before its end");

export interface AdapterOptions {
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
  readMaxBytes: number;
  writeMaxBytes: number;
  shutdownSignal: AbortSignal;
  /** Writes the log line of calls that Connect refuses before any interceptor runs. */
  callLog: CallLog;
  /** Serve unary gRPC calls on the fast path (default); false sends every call through Connect. */
  grpcFastPath: boolean;
}

interface FastMethod {
  spec: MethodImplSpec & { kind: "unary" };
  serialization: ReturnType<typeof createMethodSerializationLookup>;
}

/**
 * The request handler for every protocol, as connect-node's `connectNodeAdapter` is, with a
 * fast path for unary gRPC calls (docs/benchmarks.md measures it): connect-node runs
 * even those through a chain of async iterables, which costs several times the CPU of
 * @grpc/grpc-js. The fast path reads the one request message whole, calls Connect's own
 * handler context, interceptors and implementation, and writes one response with its
 * trailers. Whatever is not a plain unary gRPC call with one uncompressed message within the
 * limits (other protocols, streams, compression, malformed or oversized envelopes, bad
 * timeouts) goes to Connect's universal handler, so that errors stay exactly Connect's.
 */
export function createNodeHandler(options: AdapterOptions) {
  const router = createConnectRouter({
    interceptors: options.interceptors,
    readMaxBytes: options.readMaxBytes,
    writeMaxBytes: options.writeMaxBytes,
    shutdownSignal: options.shutdownSignal,
    acceptCompression: [compressionGzip, compressionBrotli],
  });
  const fast = new Map<string, FastMethod>();
  options.routes(options.grpcFastPath ? recordingUnaryMethods(router, fast, options) : router);
  const universal = new Map<string, UniversalHandler>();
  for (const handler of router.handlers) universal.set(handler.requestPath, handler);

  /** Logs a call that no interceptor finished: Connect refused it before they ran. */
  const finishEarly = (req: NodeRequest, call: CallState) => (code: Code | "ok") =>
    options.callLog({
      call,
      procedure: (req.url?.split("?", 1)[0] ?? "").slice(1),
      protocol: protocolOf(headerOf(req, "content-type")),
      code,
    });

  /** Connect's universal handler, reading the body from the request or from `body`. */
  function viaConnect(
    handler: UniversalHandler,
    req: NodeRequest,
    res: NodeResponse,
    call: CallState,
    body?: Buffer,
  ) {
    let uReq: ReturnType<typeof universalRequestFromNodeRequest>;
    try {
      uReq = universalRequestFromNodeRequest(
        req as never,
        res as never,
        // Connect takes a body already read in place of the JSON it would parse itself.
        (body === undefined
          ? bodyOf(req, DISCARD_FACTOR * options.readMaxBytes)
          : oneChunk(body)) as never,
        createContextValues().set(callStateKey, call),
      );
    } catch {
      // Connect throws synchronously on a request it cannot read (an HTTP/1.0 request
      // without a Host header, say): thrown from here, that would end the process.
      res.writeHead(400);
      res.end();
      return;
    }
    handler(uReq)
      .then((uRes) =>
        universalResponseToNodeResponse(
          finishEarlyErrors(uRes, call, finishEarly(req, call)),
          res as never,
        ),
      )
      .catch(() => {
        // The client went away or the response could not be written: nothing to answer,
        // but the call still gets its log line.
        if (!call.logged) finishEarly(req, call)(Code.Canceled);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
  }

  return function handle(req: NodeRequest, res: NodeResponse) {
    const path = req.url?.split("?", 2)[0] ?? "";
    const handler = universal.get(path);
    if (!handler) {
      res.writeHead(404);
      res.end();
      return;
    }
    // Every answer carries the call's request id, whoever writes it.
    const call = newCallState(
      headerOf(req, REQUEST_ID_HEADER),
      `${req.socket.remoteAddress}:${req.socket.remotePort}`,
    );
    res.setHeader(REQUEST_ID_HEADER, call.requestId);
    const method = fast.get(path);
    if (!method || !isPlainGrpc(req)) {
      viaConnect(handler, req, res, call);
      return;
    }
    readBody(req, options.readMaxBytes + 5)
      .then((body) => {
        const length = body.length >= 5 ? body.readUInt32BE(1) : -1;
        const timeout = parseTimeout(
          headerOf(req, "grpc-timeout") ?? null,
          Number.MAX_SAFE_INTEGER,
        );
        const plain =
          body.length >= 5 &&
          body[0] === 0 &&
          length === body.length - 5 &&
          length <= options.readMaxBytes &&
          timeout.error === undefined;
        if (!plain) return viaConnect(handler, req, res, call, body);
        return fastUnary(method, req, res, call, body.subarray(5), timeout.timeoutMs);
      })
      .catch((err: unknown) => {
        // The client reset the stream before its end: nobody is left to answer.
        if (err === STREAM_CLOSED || req.destroyed || res.headersSent) {
          finishEarly(req, call)(Code.Canceled);
          return;
        }
        // The stream failed otherwise: Connect answers from here.
        viaConnect(handler, req, res, call, Buffer.alloc(0));
      });
  };

  async function fastUnary(
    method: FastMethod,
    req: NodeRequest,
    res: NodeResponse,
    call: CallState,
    message: Buffer,
    timeoutMs: number | undefined,
  ) {
    const abort = new AbortController();
    const onClose = () =>
      abort.abort(new ConnectError("the client closed the call", Code.Canceled));
    req.once("close", onClose);
    const context = createHandlerContext({
      ...method.spec,
      service: method.spec.method.parent,
      requestMethod: "POST",
      protocolName: "grpc",
      timeoutMs,
      shutdownSignal: options.shutdownSignal,
      requestSignal: abort.signal,
      requestHeader: webHeaders(req),
      url: `http://${headerOf(req, ":authority") ?? headerOf(req, "host") ?? "localhost"}${req.url}`,
      responseHeader: { "content-type": "application/grpc+proto" },
      responseTrailer: { "grpc-status": "0" },
      contextValues: createContextValues().set(callStateKey, call).set(fastPathKey, true),
    });
    let frame: Buffer | undefined;
    try {
      const input = method.serialization.getI(true).parse(message);
      const output = await invokeUnaryImplementation(
        method.spec,
        context,
        input,
        options.interceptors,
      );
      const bytes = method.serialization.getO(true).serialize(output);
      frame = Buffer.allocUnsafe(5 + bytes.length);
      frame[0] = 0;
      frame.writeUInt32BE(bytes.length, 1);
      frame.set(bytes, 5);
    } catch (err) {
      let error =
        err instanceof ConnectError
          ? err
          : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
      if (!call.logged) {
        // Refused before the interceptors ran (an undecodable message): as Connect's own.
        if (error.code === Code.Internal) {
          error = new ConnectError(withRequestId(error.rawMessage, call.requestId), error.code);
        }
        finishEarly(req, call)(error.code);
      }
      setTrailerStatus(context.responseTrailer, error);
    } finally {
      req.off("close", onClose);
      // Ends the call's deadline timer and signal links; a shared reason spares a
      // DOMException per call.
      context.abort(CALL_DONE);
    }
    if (res.destroyed || res.headersSent) return;
    res.writeHead(200, nodeHeaders(context.responseHeader));
    res.addTrailers(nodeHeaders(context.responseTrailer));
    if (frame) res.end(frame);
    else res.end();
  }
}

/**
 * `router`, that also records the implementations of unary methods registered on it, for
 * the fast path. Only whole services are recorded; a single `rpc` still reaches Connect.
 */
function recordingUnaryMethods(
  router: ConnectRouter,
  into: Map<string, FastMethod>,
  options: AdapterOptions,
): ConnectRouter {
  const recording: ConnectRouter = {
    get handlers() {
      return router.handlers;
    },
    service(service, impl, serviceOptions) {
      router.service(service, impl, serviceOptions);
      const spec = createServiceImplSpec(service, impl as ServiceImpl<DescService>);
      for (const method of service.methods) {
        const methodSpec = spec.methods[method.localName];
        if (method.methodKind !== "unary" || !methodSpec || methodSpec.kind !== "unary") continue;
        into.set(`/${service.typeName}/${method.name}`, {
          spec: methodSpec,
          serialization: createMethodSerializationLookup(
            method as DescMethodUnary,
            undefined,
            undefined,
            { readMaxBytes: options.readMaxBytes, writeMaxBytes: options.writeMaxBytes },
          ),
        });
      }
      return recording;
    },
    rpc(method, impl, rpcOptions) {
      router.rpc(method, impl, rpcOptions);
      return recording;
    },
  };
  return recording;
}

/** gRPC over HTTP/2 with the protobuf codec and no compression. */
function isPlainGrpc(req: NodeRequest): boolean {
  if (req.httpVersionMajor !== 2 || req.method !== "POST") return false;
  const type = headerOf(req, "content-type");
  if (type !== "application/grpc" && type !== "application/grpc+proto") return false;
  const encoding = headerOf(req, "grpc-encoding");
  return encoding === undefined || encoding === "identity";
}

const headerOf = (req: NodeRequest, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
};

/** Reads the whole body; beyond `limit` bytes, stops keeping it and drops the rest. */
function readBody(req: NodeRequest, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        discardRest(req, DISCARD_FACTOR * limit);
        resolve(Buffer.concat(chunks)); // Connect reports the size from the envelope
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
    // A stream reset before the end emits neither: without this the call would wait forever.
    req.once("close", () => reject(STREAM_CLOSED));
  });
}

/**
 * The request body for Connect. Connect stops reading early when it refuses a call (an
 * oversized message, say), which left an HTTP/2 client sending into a stream nobody read,
 * held open by flow control until the client gave up. Instead read and drop the rest, up to
 * `limit` more bytes, and reset the stream of a client that sends more.
 */
function bodyOf(req: NodeRequest, limit: number): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const chunks = req.iterator({ destroyOnReturn: false });
      return {
        next: () => chunks.next(),
        return: async () => {
          await chunks.return?.();
          discardRest(req, limit);
          return { done: true, value: undefined };
        },
      };
    },
  };
}

function discardRest(req: NodeRequest, limit: number) {
  if (req.complete || req.destroyed) return;
  let discarded = 0;
  req.on("data", (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > limit) req.destroy();
  });
  req.resume();
}

function oneChunk(body: Buffer): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      if (body.length > 0) yield body;
    },
  };
}

function webHeaders(req: NodeRequest): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(req.headers)) {
    if (key.startsWith(":") || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(key, v);
  }
  return headers;
}

function nodeHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}
