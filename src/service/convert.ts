import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  ChangeKind as ChangeKindMessage,
  type CustomerChange as CustomerChangeMessage,
  CustomerChangeSchema,
  type Customer as CustomerMessage,
  CustomerSchema,
  type SavedFilter as SavedFilterMessage,
  SavedFilterSchema,
  type ServiceInstance as ServiceInstanceMessage,
  ServiceInstanceSchema,
} from "../../gen/customerinventory/v1/resources_pb.js";
import type {
  ChangeKind,
  Customer,
  CustomerChange,
  SavedFilter,
  ServiceInstance,
} from "../domain/types.js";

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

const changeKindToProto: Record<ChangeKind, ChangeKindMessage> = {
  CUSTOMER_CREATED: ChangeKindMessage.CUSTOMER_CREATED,
  CUSTOMER_UPDATED: ChangeKindMessage.CUSTOMER_UPDATED,
  CUSTOMER_DELETED: ChangeKindMessage.CUSTOMER_DELETED,
  SERVICE_INSTANCE_CREATED: ChangeKindMessage.SERVICE_INSTANCE_CREATED,
  SERVICE_INSTANCE_DELETED: ChangeKindMessage.SERVICE_INSTANCE_DELETED,
};

export function customerChangeToProto(c: CustomerChange, cursor: string): CustomerChangeMessage {
  return create(CustomerChangeSchema, {
    sequence: c.sequence,
    cursor,
    changeTime: timestampFromDate(c.changeTime),
    kind: changeKindToProto[c.kind],
    customerId: c.customerId,
    customer: c.customer && customerToProto(c.customer),
    previousCustomer: c.previousCustomer && customerToProto(c.previousCustomer),
    changedFields: c.changedFields,
    serviceInstance: c.serviceInstance && serviceInstanceToProto(c.serviceInstance),
    actor: c.actor,
    requestId: c.requestId,
  });
}
