import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Customer as CustomerMessage,
  CustomerSchema,
  type SavedFilter as SavedFilterMessage,
  SavedFilterSchema,
  type ServiceInstance as ServiceInstanceMessage,
  ServiceInstanceSchema,
} from "../../gen/customerinventory/v1/resources_pb.js";
import type { Customer, SavedFilter, ServiceInstance } from "../domain/types.js";

export function customerToProto(c: Customer): CustomerMessage {
  return create(CustomerSchema, {
    id: c.id,
    name: c.name,
    referenceNumber: c.referenceNumber,
    description: c.description,
    serviceInstanceCount: c.serviceInstanceCount,
    createTime: timestampFromDate(c.createTime),
    updateTime: timestampFromDate(c.updateTime),
    etag: c.etag,
  });
}

export function serviceInstanceToProto(i: ServiceInstance): ServiceInstanceMessage {
  return create(ServiceInstanceSchema, {
    id: i.id,
    customerId: i.customerId,
    customerName: i.customerName,
    name: i.name,
    serviceType: i.serviceType,
    createTime: timestampFromDate(i.createTime),
    updateTime: timestampFromDate(i.createTime),
  });
}

export function savedFilterToProto(f: SavedFilter): SavedFilterMessage {
  return create(SavedFilterSchema, {
    id: f.id,
    displayName: f.displayName,
    filter: f.filter,
    search: f.search,
    orderBy: f.orderBy,
    shared: f.shared,
    owner: f.owner,
    createTime: timestampFromDate(f.createTime),
    updateTime: timestampFromDate(f.updateTime),
    etag: f.etag,
  });
}
