import { describe, expect, it } from "vitest";
import { file_customerinventory_v1_customer_inventory_service } from "../../gen/customerinventory/v1/customer_inventory_service_pb.js";
import { file_customerinventory_v1_resources } from "../../gen/customerinventory/v1/resources_pb.js";
import { file_customerinventory_v1_service_instance_service } from "../../gen/customerinventory/v1/service_instance_service_pb.js";

// Generated Go and Java code takes its package names from these options, so they are part of
// the API: buf breaking's FILE_SAME_* rules for them are excepted in buf.yaml (they were unset
// before), and this test pins them instead.

describe("the protos' file options for generated Go and Java code", () => {
  it.each([
    [file_customerinventory_v1_resources, "ResourcesProto"],
    [file_customerinventory_v1_customer_inventory_service, "CustomerInventoryServiceProto"],
    [file_customerinventory_v1_service_instance_service, "ServiceInstanceServiceProto"],
  ] as const)("keeps the package names of $0.proto.name", (file, outerClassname) => {
    expect(file.proto.options).toMatchObject({
      goPackage: "example.com/customerinventory/gen/go/customerinventory/v1;customerinventoryv1",
      javaPackage: "com.example.customerinventory.v1",
      javaMultipleFiles: true,
      javaOuterClassname: outerClassname,
    });
  });
});
