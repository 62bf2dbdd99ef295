import { ConnectError, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import type { Tracing } from "../observability/tracing.js";
import { protocolOf } from "./context.js";

/**
 * A SERVER span per call (outermost, so it sees the code the client sees): named
 * `<service>/<method>`, with `rpc.system`, `rpc.service`, `rpc.method` and
 * `rpc.grpc.status_code`. A stream's span lasts until its last message.
 */
export function createTracingInterceptor(tracing: Tracing): Interceptor {
  return (next) => async (req) => {
    const protocol = protocolOf(req.header.get("content-type"));
    const span = tracing.startCall(`${req.service.typeName}/${req.method.name}`, req.header, {
      "rpc.system": protocol === "grpc" ? "grpc" : "connect_rpc",
      "rpc.service": req.service.typeName,
      "rpc.method": req.method.name,
      "rpc.protocol": protocol,
    });
    const failed = (err: unknown) => {
      span.setAttribute("rpc.grpc.status_code", ConnectError.from(err).code);
      tracing.fail(span, err);
      return err;
    };
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await tracing.run(span, () => next(req));
    } catch (err) {
      throw failed(err);
    }
    if (!res.stream) {
      span.setAttribute("rpc.grpc.status_code", 0);
      span.end();
      return res;
    }
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        try {
          for await (const message of tracing.run(span, () => messages)) yield message;
          span.setAttribute("rpc.grpc.status_code", 0);
          span.end();
        } catch (err) {
          throw failed(err);
        }
      })(),
    } as StreamResponse;
  };
}
