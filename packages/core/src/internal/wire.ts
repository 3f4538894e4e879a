/**
 * The shapes of etcd's wire messages as @grpc/proto-loader decodes them with our options
 * (camelCase fields, int64 as decimal strings, bytes as Buffer, enums as names, defaults filled).
 * Only the fields etcdkit reads or writes are listed. Requests accept int64 as strings.
 */
export type Int64 = string;

export interface WireHeader {
  clusterId: Int64;
  memberId: Int64;
  revision: Int64;
  raftTerm: Int64;
}

export interface WireKeyValue {
  key: Buffer;
  createRevision: Int64;
  modRevision: Int64;
  version: Int64;
  value: Buffer;
  lease: Int64;
}

export interface WireRangeRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  limit?: Int64;
  revision?: Int64;
  sortOrder?: 'NONE' | 'ASCEND' | 'DESCEND';
  sortTarget?: 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: Int64;
  maxModRevision?: Int64;
  minCreateRevision?: Int64;
  maxCreateRevision?: Int64;
}
export interface WireRangeResponse {
  header: WireHeader;
  kvs: WireKeyValue[];
  more: boolean;
  count: Int64;
}

export interface WirePutRequest {
  key: Uint8Array;
  value: Uint8Array;
  lease?: Int64;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}
export interface WirePutResponse {
  header: WireHeader;
  prevKv: WireKeyValue | null;
}

export interface WireDeleteRangeRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  prevKv?: boolean;
}
export interface WireDeleteRangeResponse {
  header: WireHeader;
  deleted: Int64;
  prevKvs: WireKeyValue[];
}

export interface WireCompare {
  result: 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';
  target: 'VERSION' | 'CREATE' | 'MOD' | 'VALUE' | 'LEASE';
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  version?: Int64;
  createRevision?: Int64;
  modRevision?: Int64;
  value?: Uint8Array;
  lease?: Int64;
}

export type WireRequestOp =
  | { requestRange: WireRangeRequest }
  | { requestPut: WirePutRequest }
  | { requestDeleteRange: WireDeleteRangeRequest }
  | { requestTxn: WireTxnRequest };

export interface WireResponseOp {
  response: 'responseRange' | 'responsePut' | 'responseDeleteRange' | 'responseTxn';
  responseRange?: WireRangeResponse;
  responsePut?: WirePutResponse;
  responseDeleteRange?: WireDeleteRangeResponse;
  responseTxn?: WireTxnResponse;
}

export interface WireTxnRequest {
  compare: WireCompare[];
  success: WireRequestOp[];
  failure: WireRequestOp[];
}
export interface WireTxnResponse {
  header: WireHeader;
  succeeded: boolean;
  responses: WireResponseOp[];
}

export interface WireCompactionRequest {
  revision: Int64;
  physical?: boolean;
}

export interface WireWatchCreateRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  startRevision?: Int64;
  progressNotify?: boolean;
  filters?: ('NOPUT' | 'NODELETE')[];
  prevKv?: boolean;
  watchId?: Int64;
  fragment?: boolean;
}
export type WireWatchRequest =
  | { createRequest: WireWatchCreateRequest }
  | { cancelRequest: { watchId: Int64 } }
  | { progressRequest: Record<string, never> };

export interface WireEvent {
  type: 'PUT' | 'DELETE';
  kv: WireKeyValue;
  prevKv: WireKeyValue | null;
}
export interface WireWatchResponse {
  header: WireHeader;
  watchId: Int64;
  created: boolean;
  canceled: boolean;
  compactRevision: Int64;
  cancelReason: string;
  fragment: boolean;
  events: WireEvent[];
}

export interface WireLeaseGrantResponse {
  header: WireHeader;
  ID: Int64;
  TTL: Int64;
  error: string;
}
export interface WireLeaseKeepAliveResponse {
  header: WireHeader;
  ID: Int64;
  TTL: Int64;
}
export interface WireLeaseTimeToLiveResponse {
  header: WireHeader;
  ID: Int64;
  TTL: Int64;
  grantedTTL: Int64;
  keys: Buffer[];
}
export interface WireLeaseLeasesResponse {
  header: WireHeader;
  leases: { ID: Int64 }[];
}
