import { type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** One reflection request as both protocol versions spell it. */
type Request = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

/** What answers a request, before it is made a message of the caller's version. */
type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

/**
 * gRPC server reflection (v1 and v1alpha) for `services`: lists them and serves the file
 * descriptors of every file they use, so that `buf curl`, grpcurl and Postman need no
 * .proto files.
 */
export function createReflection(services: DescService[]) {
  const files = new Map<string, DescFile>();
  const addFile = (file: DescFile) => {
    if (files.has(file.name)) return;
    files.set(file.name, file);
    for (const dependency of file.dependencies) addFile(dependency);
  };
  for (const service of services) addFile(service.file);

  // Every symbol a client may ask about: messages, enums, services, methods, extensions.
  const fileOfSymbol = new Map<string, DescFile>();
  for (const file of files.values()) {
    for (const type of nestedTypes(file)) {
      fileOfSymbol.set(type.typeName, file);
      if (type.kind === "service") {
        for (const method of type.methods)
          fileOfSymbol.set(`${type.typeName}.${method.name}`, file);
      }
    }
  }

  /** The file and everything it imports, each file once, the file first. */
  const withDependencies = (file: DescFile) => {
    const out: Uint8Array[] = [];
    const seen = new Set<string>();
    const visit = (f: DescFile) => {
      if (seen.has(f.name)) return;
      seen.add(f.name);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
      for (const dependency of f.dependencies) visit(dependency);
    };
    visit(file);
    return { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: out } };
  };
  const error = (errorCode: number, errorMessage: string): Answer => ({
    case: "errorResponse",
    value: { errorCode, errorMessage },
  });

  const answer = (req: Request): Answer => {
    const { case: kind, value } = req.messageRequest;
    switch (kind) {
      case "listServices":
        return {
          case: "listServicesResponse",
          value: { service: services.map((s) => ({ name: s.typeName })) },
        };
      case "fileByFilename": {
        const file = files.get(value);
        return file ? withDependencies(file) : error(NOT_FOUND, `file "${value}" not found`);
      }
      case "fileContainingSymbol": {
        const file = fileOfSymbol.get(value);
        return file ? withDependencies(file) : error(NOT_FOUND, `symbol "${value}" not found`);
      }
      case "fileContainingExtension":
      case "allExtensionNumbersOfType":
        return error(NOT_FOUND, "this server defines no extensions");
      default:
        return error(UNIMPLEMENTED, "unknown reflection request");
    }
  };

  // Both protocol versions have the same messages under different names.
  async function* serverReflectionInfo<R extends Request>(requests: AsyncIterable<R>) {
    for await (const req of requests) {
      yield { validHost: req.host, originalRequest: req, messageResponse: answer(req) };
    }
  }

  return (router: ConnectRouter) => {
    router.service(v1.ServerReflection, { serverReflectionInfo });
    router.service(v1alpha.ServerReflection, { serverReflectionInfo });
  };
}
