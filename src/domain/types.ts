/** A customer as the service sees it. An empty referenceNumber means none. */
export interface Customer {
  id: string;
  name: string;
  referenceNumber: string;
  description: string;
  serviceInstanceCount: number;
  createTime: Date;
  updateTime: Date;
  etag: string;
}

export interface ServiceInstance {
  id: string;
  customerId: string;
  customerName: string;
  name: string;
  serviceType: string;
  createTime: Date;
}

export interface SavedFilter {
  id: string;
  owner: string;
  displayName: string;
  filter: string;
  search: string;
  orderBy: string;
  shared: boolean;
  createTime: Date;
  updateTime: Date;
  etag: string;
}

/** The mutable fields of a customer, validated and trimmed. */
export interface CustomerFields {
  name: string;
  referenceNumber: string;
  description: string;
}

/** The mutable fields of a saved filter, validated. */
export interface SavedFilterFields {
  displayName: string;
  filter: string;
  search: string;
  orderBy: string;
  shared: boolean;
}

/** What a bearer token allows: viewer reads, editor also writes, admin also sees everyone's saved filters. */
export type Role = "viewer" | "editor" | "admin";

/** Who is calling: the subject that owns what it creates, and whether it sees everything. */
export interface Caller {
  subject: string;
  /** Undefined when authentication is off. */
  role?: Role;
  /** Sees and may change other owners' private saved filters (admins, or no authentication). */
  seesAll: boolean;
}

/** Idempotency: a request_id scoped to one RPC method, with a fingerprint of the request. */
export interface IdempotencyKey {
  method: string;
  requestId: string;
  fingerprint: string;
}

/** A page of results and the keyset position after its last row (absent on the last page). */
export interface Page<T> {
  items: T[];
  next?: Cursor;
}

/** A page that also counts every matching row. */
export interface CountedPage<T> extends Page<T> {
  totalSize: number;
}

/** The sort-key values of the last row of a page; opaque outside the store. */
export type Cursor = (string | number | null)[];

/** The caller when authentication is off: owns nothing in particular and sees everything. */
export const anonymousCaller: Caller = Object.freeze({ subject: "", seesAll: true });

/** What a change record says happened: the ChangeKind names without CHANGE_KIND_. */
export const changeKinds = [
  "CUSTOMER_CREATED",
  "CUSTOMER_UPDATED",
  "CUSTOMER_DELETED",
  "SERVICE_INSTANCE_CREATED",
  "SERVICE_INSTANCE_DELETED",
] as const;
export type ChangeKind = (typeof changeKinds)[number];

/** The mutable customer fields a CUSTOMER_UPDATED names, in the contract's order. */
export const changeableCustomerFields = ["name", "reference_number", "description"] as const;
export type ChangeableCustomerField = (typeof changeableCustomerFields)[number];

/** Who made a change and through which call: recorded with it. */
export interface ChangeAuthor {
  /** The caller's subject; empty when authentication is off. */
  actor: string;
  /** The x-request-id of the call. */
  requestId: string;
}

/** One recorded change, as the store reads it back. */
export interface CustomerChange {
  /** Feed position: (transaction id << 16) + ordinal within the transaction. */
  sequence: bigint;
  changeTime: Date;
  kind: ChangeKind;
  customerId: string;
  customer?: Customer;
  previousCustomer?: Customer;
  changedFields: ChangeableCustomerField[];
  serviceInstance?: ServiceInstance;
  actor: string;
  requestId: string;
}
