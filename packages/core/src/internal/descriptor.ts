// Generated from proto/*.proto by scripts/gen-descriptor.mjs: do not edit.
// Rebuild with `pnpm run gen:descriptor`; a core test fails while this file is stale.
import type { fromJSON } from '@grpc/proto-loader';

/** The etcd v3 wire schema as protobufjs JSON (field names already camel-cased). */
export const descriptor: Parameters<typeof fromJSON>[0] = JSON.parse(`{
  "nested": {
    "etcdserverpb": {
      "nested": {
        "KV": {
          "methods": {
            "Range": {
              "requestType": "RangeRequest",
              "responseType": "RangeResponse"
            },
            "Put": {
              "requestType": "PutRequest",
              "responseType": "PutResponse"
            },
            "DeleteRange": {
              "requestType": "DeleteRangeRequest",
              "responseType": "DeleteRangeResponse"
            },
            "Txn": {
              "requestType": "TxnRequest",
              "responseType": "TxnResponse"
            },
            "Compact": {
              "requestType": "CompactionRequest",
              "responseType": "CompactionResponse"
            }
          }
        },
        "Watch": {
          "methods": {
            "Watch": {
              "requestType": "WatchRequest",
              "requestStream": true,
              "responseType": "WatchResponse",
              "responseStream": true
            }
          }
        },
        "Lease": {
          "methods": {
            "LeaseGrant": {
              "requestType": "LeaseGrantRequest",
              "responseType": "LeaseGrantResponse"
            },
            "LeaseRevoke": {
              "requestType": "LeaseRevokeRequest",
              "responseType": "LeaseRevokeResponse"
            },
            "LeaseKeepAlive": {
              "requestType": "LeaseKeepAliveRequest",
              "requestStream": true,
              "responseType": "LeaseKeepAliveResponse",
              "responseStream": true
            },
            "LeaseTimeToLive": {
              "requestType": "LeaseTimeToLiveRequest",
              "responseType": "LeaseTimeToLiveResponse"
            },
            "LeaseLeases": {
              "requestType": "LeaseLeasesRequest",
              "responseType": "LeaseLeasesResponse"
            }
          }
        },
        "Cluster": {
          "methods": {
            "MemberAdd": {
              "requestType": "MemberAddRequest",
              "responseType": "MemberAddResponse"
            },
            "MemberRemove": {
              "requestType": "MemberRemoveRequest",
              "responseType": "MemberRemoveResponse"
            },
            "MemberUpdate": {
              "requestType": "MemberUpdateRequest",
              "responseType": "MemberUpdateResponse"
            },
            "MemberList": {
              "requestType": "MemberListRequest",
              "responseType": "MemberListResponse"
            },
            "MemberPromote": {
              "requestType": "MemberPromoteRequest",
              "responseType": "MemberPromoteResponse"
            }
          }
        },
        "Maintenance": {
          "methods": {
            "Alarm": {
              "requestType": "AlarmRequest",
              "responseType": "AlarmResponse"
            },
            "Status": {
              "requestType": "StatusRequest",
              "responseType": "StatusResponse"
            },
            "Defragment": {
              "requestType": "DefragmentRequest",
              "responseType": "DefragmentResponse"
            },
            "Hash": {
              "requestType": "HashRequest",
              "responseType": "HashResponse"
            },
            "HashKV": {
              "requestType": "HashKVRequest",
              "responseType": "HashKVResponse"
            },
            "Snapshot": {
              "requestType": "SnapshotRequest",
              "responseType": "SnapshotResponse",
              "responseStream": true
            },
            "MoveLeader": {
              "requestType": "MoveLeaderRequest",
              "responseType": "MoveLeaderResponse"
            }
          }
        },
        "Auth": {
          "methods": {
            "AuthEnable": {
              "requestType": "AuthEnableRequest",
              "responseType": "AuthEnableResponse"
            },
            "AuthDisable": {
              "requestType": "AuthDisableRequest",
              "responseType": "AuthDisableResponse"
            },
            "Authenticate": {
              "requestType": "AuthenticateRequest",
              "responseType": "AuthenticateResponse"
            },
            "UserAdd": {
              "requestType": "AuthUserAddRequest",
              "responseType": "AuthUserAddResponse"
            },
            "UserGet": {
              "requestType": "AuthUserGetRequest",
              "responseType": "AuthUserGetResponse"
            },
            "UserList": {
              "requestType": "AuthUserListRequest",
              "responseType": "AuthUserListResponse"
            },
            "UserDelete": {
              "requestType": "AuthUserDeleteRequest",
              "responseType": "AuthUserDeleteResponse"
            },
            "UserChangePassword": {
              "requestType": "AuthUserChangePasswordRequest",
              "responseType": "AuthUserChangePasswordResponse"
            },
            "UserGrantRole": {
              "requestType": "AuthUserGrantRoleRequest",
              "responseType": "AuthUserGrantRoleResponse"
            },
            "UserRevokeRole": {
              "requestType": "AuthUserRevokeRoleRequest",
              "responseType": "AuthUserRevokeRoleResponse"
            },
            "RoleAdd": {
              "requestType": "AuthRoleAddRequest",
              "responseType": "AuthRoleAddResponse"
            },
            "RoleGet": {
              "requestType": "AuthRoleGetRequest",
              "responseType": "AuthRoleGetResponse"
            },
            "RoleList": {
              "requestType": "AuthRoleListRequest",
              "responseType": "AuthRoleListResponse"
            },
            "RoleDelete": {
              "requestType": "AuthRoleDeleteRequest",
              "responseType": "AuthRoleDeleteResponse"
            },
            "RoleGrantPermission": {
              "requestType": "AuthRoleGrantPermissionRequest",
              "responseType": "AuthRoleGrantPermissionResponse"
            },
            "RoleRevokePermission": {
              "requestType": "AuthRoleRevokePermissionRequest",
              "responseType": "AuthRoleRevokePermissionResponse"
            }
          }
        },
        "ResponseHeader": {
          "fields": {
            "clusterId": {
              "type": "uint64",
              "id": 1
            },
            "memberId": {
              "type": "uint64",
              "id": 2
            },
            "revision": {
              "type": "int64",
              "id": 3
            },
            "raftTerm": {
              "type": "uint64",
              "id": 4
            }
          }
        },
        "RangeRequest": {
          "fields": {
            "key": {
              "type": "bytes",
              "id": 1
            },
            "rangeEnd": {
              "type": "bytes",
              "id": 2
            },
            "limit": {
              "type": "int64",
              "id": 3
            },
            "revision": {
              "type": "int64",
              "id": 4
            },
            "sortOrder": {
              "type": "SortOrder",
              "id": 5
            },
            "sortTarget": {
              "type": "SortTarget",
              "id": 6
            },
            "serializable": {
              "type": "bool",
              "id": 7
            },
            "keysOnly": {
              "type": "bool",
              "id": 8
            },
            "countOnly": {
              "type": "bool",
              "id": 9
            },
            "minModRevision": {
              "type": "int64",
              "id": 10
            },
            "maxModRevision": {
              "type": "int64",
              "id": 11
            },
            "minCreateRevision": {
              "type": "int64",
              "id": 12
            },
            "maxCreateRevision": {
              "type": "int64",
              "id": 13
            }
          },
          "nested": {
            "SortOrder": {
              "values": {
                "NONE": 0,
                "ASCEND": 1,
                "DESCEND": 2
              }
            },
            "SortTarget": {
              "values": {
                "KEY": 0,
                "VERSION": 1,
                "CREATE": 2,
                "MOD": 3,
                "VALUE": 4
              }
            }
          }
        },
        "RangeResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "kvs": {
              "rule": "repeated",
              "type": "mvccpb.KeyValue",
              "id": 2
            },
            "more": {
              "type": "bool",
              "id": 3
            },
            "count": {
              "type": "int64",
              "id": 4
            }
          }
        },
        "PutRequest": {
          "fields": {
            "key": {
              "type": "bytes",
              "id": 1
            },
            "value": {
              "type": "bytes",
              "id": 2
            },
            "lease": {
              "type": "int64",
              "id": 3
            },
            "prevKv": {
              "type": "bool",
              "id": 4
            },
            "ignoreValue": {
              "type": "bool",
              "id": 5
            },
            "ignoreLease": {
              "type": "bool",
              "id": 6
            }
          }
        },
        "PutResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "prevKv": {
              "type": "mvccpb.KeyValue",
              "id": 2
            }
          }
        },
        "DeleteRangeRequest": {
          "fields": {
            "key": {
              "type": "bytes",
              "id": 1
            },
            "rangeEnd": {
              "type": "bytes",
              "id": 2
            },
            "prevKv": {
              "type": "bool",
              "id": 3
            }
          }
        },
        "DeleteRangeResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "deleted": {
              "type": "int64",
              "id": 2
            },
            "prevKvs": {
              "rule": "repeated",
              "type": "mvccpb.KeyValue",
              "id": 3
            }
          }
        },
        "RequestOp": {
          "oneofs": {
            "request": {
              "oneof": [
                "requestRange",
                "requestPut",
                "requestDeleteRange",
                "requestTxn"
              ]
            }
          },
          "fields": {
            "requestRange": {
              "type": "RangeRequest",
              "id": 1
            },
            "requestPut": {
              "type": "PutRequest",
              "id": 2
            },
            "requestDeleteRange": {
              "type": "DeleteRangeRequest",
              "id": 3
            },
            "requestTxn": {
              "type": "TxnRequest",
              "id": 4
            }
          }
        },
        "ResponseOp": {
          "oneofs": {
            "response": {
              "oneof": [
                "responseRange",
                "responsePut",
                "responseDeleteRange",
                "responseTxn"
              ]
            }
          },
          "fields": {
            "responseRange": {
              "type": "RangeResponse",
              "id": 1
            },
            "responsePut": {
              "type": "PutResponse",
              "id": 2
            },
            "responseDeleteRange": {
              "type": "DeleteRangeResponse",
              "id": 3
            },
            "responseTxn": {
              "type": "TxnResponse",
              "id": 4
            }
          }
        },
        "Compare": {
          "oneofs": {
            "targetUnion": {
              "oneof": [
                "version",
                "createRevision",
                "modRevision",
                "value",
                "lease"
              ]
            }
          },
          "fields": {
            "result": {
              "type": "CompareResult",
              "id": 1
            },
            "target": {
              "type": "CompareTarget",
              "id": 2
            },
            "key": {
              "type": "bytes",
              "id": 3
            },
            "version": {
              "type": "int64",
              "id": 4
            },
            "createRevision": {
              "type": "int64",
              "id": 5
            },
            "modRevision": {
              "type": "int64",
              "id": 6
            },
            "value": {
              "type": "bytes",
              "id": 7
            },
            "lease": {
              "type": "int64",
              "id": 8
            },
            "rangeEnd": {
              "type": "bytes",
              "id": 64
            }
          },
          "nested": {
            "CompareResult": {
              "values": {
                "EQUAL": 0,
                "GREATER": 1,
                "LESS": 2,
                "NOT_EQUAL": 3
              }
            },
            "CompareTarget": {
              "values": {
                "VERSION": 0,
                "CREATE": 1,
                "MOD": 2,
                "VALUE": 3,
                "LEASE": 4
              }
            }
          }
        },
        "TxnRequest": {
          "fields": {
            "compare": {
              "rule": "repeated",
              "type": "Compare",
              "id": 1
            },
            "success": {
              "rule": "repeated",
              "type": "RequestOp",
              "id": 2
            },
            "failure": {
              "rule": "repeated",
              "type": "RequestOp",
              "id": 3
            }
          }
        },
        "TxnResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "succeeded": {
              "type": "bool",
              "id": 2
            },
            "responses": {
              "rule": "repeated",
              "type": "ResponseOp",
              "id": 3
            }
          }
        },
        "CompactionRequest": {
          "fields": {
            "revision": {
              "type": "int64",
              "id": 1
            },
            "physical": {
              "type": "bool",
              "id": 2
            }
          }
        },
        "CompactionResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            }
          }
        },
        "HashRequest": {
          "fields": {}
        },
        "HashKVRequest": {
          "fields": {
            "revision": {
              "type": "int64",
              "id": 1
            }
          }
        },
        "HashKVResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "hash": {
              "type": "uint32",
              "id": 2
            },
            "compactRevision": {
              "type": "int64",
              "id": 3
            }
          }
        },
        "HashResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "hash": {
              "type": "uint32",
              "id": 2
            }
          }
        },
        "SnapshotRequest": {
          "fields": {}
        },
        "SnapshotResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "remainingBytes": {
              "type": "uint64",
              "id": 2
            },
            "blob": {
              "type": "bytes",
              "id": 3
            }
          }
        },
        "WatchRequest": {
          "oneofs": {
            "requestUnion": {
              "oneof": [
                "createRequest",
                "cancelRequest",
                "progressRequest"
              ]
            }
          },
          "fields": {
            "createRequest": {
              "type": "WatchCreateRequest",
              "id": 1
            },
            "cancelRequest": {
              "type": "WatchCancelRequest",
              "id": 2
            },
            "progressRequest": {
              "type": "WatchProgressRequest",
              "id": 3
            }
          }
        },
        "WatchCreateRequest": {
          "fields": {
            "key": {
              "type": "bytes",
              "id": 1
            },
            "rangeEnd": {
              "type": "bytes",
              "id": 2
            },
            "startRevision": {
              "type": "int64",
              "id": 3
            },
            "progressNotify": {
              "type": "bool",
              "id": 4
            },
            "filters": {
              "rule": "repeated",
              "type": "FilterType",
              "id": 5
            },
            "prevKv": {
              "type": "bool",
              "id": 6
            },
            "watchId": {
              "type": "int64",
              "id": 7
            },
            "fragment": {
              "type": "bool",
              "id": 8
            }
          },
          "nested": {
            "FilterType": {
              "values": {
                "NOPUT": 0,
                "NODELETE": 1
              }
            }
          }
        },
        "WatchCancelRequest": {
          "fields": {
            "watchId": {
              "type": "int64",
              "id": 1
            }
          }
        },
        "WatchProgressRequest": {
          "fields": {}
        },
        "WatchResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "watchId": {
              "type": "int64",
              "id": 2
            },
            "created": {
              "type": "bool",
              "id": 3
            },
            "canceled": {
              "type": "bool",
              "id": 4
            },
            "compactRevision": {
              "type": "int64",
              "id": 5
            },
            "cancelReason": {
              "type": "string",
              "id": 6
            },
            "fragment": {
              "type": "bool",
              "id": 7
            },
            "events": {
              "rule": "repeated",
              "type": "mvccpb.Event",
              "id": 11
            }
          }
        },
        "LeaseGrantRequest": {
          "fields": {
            "TTL": {
              "type": "int64",
              "id": 1
            },
            "ID": {
              "type": "int64",
              "id": 2
            }
          }
        },
        "LeaseGrantResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "ID": {
              "type": "int64",
              "id": 2
            },
            "TTL": {
              "type": "int64",
              "id": 3
            },
            "error": {
              "type": "string",
              "id": 4
            }
          }
        },
        "LeaseRevokeRequest": {
          "fields": {
            "ID": {
              "type": "int64",
              "id": 1
            }
          }
        },
        "LeaseRevokeResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            }
          }
        },
        "LeaseCheckpoint": {
          "fields": {
            "ID": {
              "type": "int64",
              "id": 1
            },
            "remaining_TTL": {
              "type": "int64",
              "id": 2
            }
          }
        },
        "LeaseCheckpointRequest": {
          "fields": {
            "checkpoints": {
              "rule": "repeated",
              "type": "LeaseCheckpoint",
              "id": 1
            }
          }
        },
        "LeaseCheckpointResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            }
          }
        },
        "LeaseKeepAliveRequest": {
          "fields": {
            "ID": {
              "type": "int64",
              "id": 1
            }
          }
        },
        "LeaseKeepAliveResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "ID": {
              "type": "int64",
              "id": 2
            },
            "TTL": {
              "type": "int64",
              "id": 3
            }
          }
        },
        "LeaseTimeToLiveRequest": {
          "fields": {
            "ID": {
              "type": "int64",
              "id": 1
            },
            "keys": {
              "type": "bool",
              "id": 2
            }
          }
        },
        "LeaseTimeToLiveResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "ID": {
              "type": "int64",
              "id": 2
            },
            "TTL": {
              "type": "int64",
              "id": 3
            },
            "grantedTTL": {
              "type": "int64",
              "id": 4
            },
            "keys": {
              "rule": "repeated",
              "type": "bytes",
              "id": 5
            }
          }
        },
        "LeaseLeasesRequest": {
          "fields": {}
        },
        "LeaseStatus": {
          "fields": {
            "ID": {
              "type": "int64",
              "id": 1
            }
          }
        },
        "LeaseLeasesResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "leases": {
              "rule": "repeated",
              "type": "LeaseStatus",
              "id": 2
            }
          }
        },
        "Member": {
          "fields": {
            "ID": {
              "type": "uint64",
              "id": 1
            },
            "name": {
              "type": "string",
              "id": 2
            },
            "peerURLs": {
              "rule": "repeated",
              "type": "string",
              "id": 3
            },
            "clientURLs": {
              "rule": "repeated",
              "type": "string",
              "id": 4
            },
            "isLearner": {
              "type": "bool",
              "id": 5
            }
          }
        },
        "MemberAddRequest": {
          "fields": {
            "peerURLs": {
              "rule": "repeated",
              "type": "string",
              "id": 1
            },
            "isLearner": {
              "type": "bool",
              "id": 2
            }
          }
        },
        "MemberAddResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "member": {
              "type": "Member",
              "id": 2
            },
            "members": {
              "rule": "repeated",
              "type": "Member",
              "id": 3
            }
          }
        },
        "MemberRemoveRequest": {
          "fields": {
            "ID": {
              "type": "uint64",
              "id": 1
            }
          }
        },
        "MemberRemoveResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "members": {
              "rule": "repeated",
              "type": "Member",
              "id": 2
            }
          }
        },
        "MemberUpdateRequest": {
          "fields": {
            "ID": {
              "type": "uint64",
              "id": 1
            },
            "peerURLs": {
              "rule": "repeated",
              "type": "string",
              "id": 2
            }
          }
        },
        "MemberUpdateResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "members": {
              "rule": "repeated",
              "type": "Member",
              "id": 2
            }
          }
        },
        "MemberListRequest": {
          "fields": {}
        },
        "MemberListResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "members": {
              "rule": "repeated",
              "type": "Member",
              "id": 2
            }
          }
        },
        "MemberPromoteRequest": {
          "fields": {
            "ID": {
              "type": "uint64",
              "id": 1
            }
          }
        },
        "MemberPromoteResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "members": {
              "rule": "repeated",
              "type": "Member",
              "id": 2
            }
          }
        },
        "DefragmentRequest": {
          "fields": {}
        },
        "DefragmentResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            }
          }
        },
        "MoveLeaderRequest": {
          "fields": {
            "targetID": {
              "type": "uint64",
              "id": 1
            }
          }
        },
        "MoveLeaderResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            }
          }
        },
        "AlarmType": {
          "values": {
            "NONE": 0,
            "NOSPACE": 1,
            "CORRUPT": 2
          }
        },
        "AlarmRequest": {
          "fields": {
            "action": {
              "type": "AlarmAction",
              "id": 1
            },
            "memberID": {
              "type": "uint64",
              "id": 2
            },
            "alarm": {
              "type": "AlarmType",
              "id": 3
            }
          },
          "nested": {
            "AlarmAction": {
              "values": {
                "GET": 0,
                "ACTIVATE": 1,
                "DEACTIVATE": 2
              }
            }
          }
        },
        "AlarmMember": {
          "fields": {
            "memberID": {
              "type": "uint64",
              "id": 1
            },
            "alarm": {
              "type": "AlarmType",
              "id": 2
            }
          }
        },
        "AlarmResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "alarms": {
              "rule": "repeated",
              "type": "AlarmMember",
              "id": 2
            }
          }
        },
        "StatusRequest": {
          "fields": {}
        },
        "StatusResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "version": {
              "type": "string",
              "id": 2
            },
            "dbSize": {
              "type": "int64",
              "id": 3
            },
            "leader": {
              "type": "uint64",
              "id": 4
            },
            "raftIndex": {
              "type": "uint64",
              "id": 5
            },
            "raftTerm": {
              "type": "uint64",
              "id": 6
            },
            "raftAppliedIndex": {
              "type": "uint64",
              "id": 7
            },
            "errors": {
              "rule": "repeated",
              "type": "string",
              "id": 8
            },
            "dbSizeInUse": {
              "type": "int64",
              "id": 9
            },
            "isLearner": {
              "type": "bool",
              "id": 10
            }
          }
        },
        "AuthEnableRequest": {
          "fields": {}
        },
        "AuthDisableRequest": {
          "fields": {}
        },
        "AuthenticateRequest": {
          "fields": {
            "name": {
              "type": "string",
              "id": 1
            },
            "password": {
              "type": "string",
              "id": 2
            }
          }
        },
        "AuthUserAddRequest": {
          "fields": {
            "name": {
              "type": "string",
              "id": 1
            },
            "password": {
              "type": "string",
              "id": 2
            },
            "options": {
              "type": "authpb.UserAddOptions",
              "id": 3
            }
          }
        },
        "AuthUserGetRequest": {
          "fields": {
            "name": {
              "type": "string",
              "id": 1
            }
          }
        },
        "AuthUserDeleteRequest": {
          "fields": {
            "name": {
              "type": "string",
              "id": 1
            }
          }
        },
        "AuthUserChangePasswordRequest": {
          "fields": {
            "name": {
              "type": "string",
              "id": 1
            },
            "password": {
              "type": "string",
              "id": 2
            }
          }
        },
        "AuthUserGrantRoleRequest": {
          "fields": {
            "user": {
              "type": "string",
              "id": 1
            },
            "role": {
              "type": "string",
              "id": 2
            }
          }
        },
        "AuthUserRevokeRoleRequest": {
          "fields": {
            "name": {
              "type": "string",
              "id": 1
            },
            "role": {
              "type": "string",
              "id": 2
            }
          }
        },
        "AuthRoleAddRequest": {
          "fields": {
            "name": {
              "type": "string",
              "id": 1
            }
          }
        },
        "AuthRoleGetRequest": {
          "fields": {
            "role": {
              "type": "string",
              "id": 1
            }
          }
        },
        "AuthUserListRequest": {
          "fields": {}
        },
        "AuthRoleListRequest": {
          "fields": {}
        },
        "AuthRoleDeleteRequest": {
          "fields": {
            "role": {
              "type": "string",
              "id": 1
            }
          }
        },
        "AuthRoleGrantPermissionRequest": {
          "fields": {
            "name": {
              "type": "string",
              "id": 1
            },
            "perm": {
              "type": "authpb.Permission",
              "id": 2
            }
          }
        },
        "AuthRoleRevokePermissionRequest": {
          "fields": {
            "role": {
              "type": "string",
              "id": 1
            },
            "key": {
              "type": "bytes",
              "id": 2
            },
            "rangeEnd": {
              "type": "bytes",
              "id": 3
            }
          }
        },
        "AuthEnableResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            }
          }
        },
        "AuthDisableResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            }
          }
        },
        "AuthenticateResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "token": {
              "type": "string",
              "id": 2
            }
          }
        },
        "AuthUserAddResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            }
          }
        },
        "AuthUserGetResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "roles": {
              "rule": "repeated",
              "type": "string",
              "id": 2
            }
          }
        },
        "AuthUserDeleteResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            }
          }
        },
        "AuthUserChangePasswordResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            }
          }
        },
        "AuthUserGrantRoleResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            }
          }
        },
        "AuthUserRevokeRoleResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            }
          }
        },
        "AuthRoleAddResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            }
          }
        },
        "AuthRoleGetResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "perm": {
              "rule": "repeated",
              "type": "authpb.Permission",
              "id": 2
            }
          }
        },
        "AuthRoleListResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "roles": {
              "rule": "repeated",
              "type": "string",
              "id": 2
            }
          }
        },
        "AuthUserListResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            },
            "users": {
              "rule": "repeated",
              "type": "string",
              "id": 2
            }
          }
        },
        "AuthRoleDeleteResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            }
          }
        },
        "AuthRoleGrantPermissionResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            }
          }
        },
        "AuthRoleRevokePermissionResponse": {
          "fields": {
            "header": {
              "type": "ResponseHeader",
              "id": 1
            }
          }
        }
      }
    },
    "mvccpb": {
      "nested": {
        "KeyValue": {
          "fields": {
            "key": {
              "type": "bytes",
              "id": 1
            },
            "createRevision": {
              "type": "int64",
              "id": 2
            },
            "modRevision": {
              "type": "int64",
              "id": 3
            },
            "version": {
              "type": "int64",
              "id": 4
            },
            "value": {
              "type": "bytes",
              "id": 5
            },
            "lease": {
              "type": "int64",
              "id": 6
            }
          }
        },
        "Event": {
          "fields": {
            "type": {
              "type": "EventType",
              "id": 1
            },
            "kv": {
              "type": "KeyValue",
              "id": 2
            },
            "prevKv": {
              "type": "KeyValue",
              "id": 3
            }
          },
          "nested": {
            "EventType": {
              "values": {
                "PUT": 0,
                "DELETE": 1
              }
            }
          }
        }
      }
    },
    "authpb": {
      "nested": {
        "UserAddOptions": {
          "fields": {
            "noPassword": {
              "type": "bool",
              "id": 1
            }
          }
        },
        "User": {
          "fields": {
            "name": {
              "type": "bytes",
              "id": 1
            },
            "password": {
              "type": "bytes",
              "id": 2
            },
            "roles": {
              "rule": "repeated",
              "type": "string",
              "id": 3
            },
            "options": {
              "type": "UserAddOptions",
              "id": 4
            }
          }
        },
        "Permission": {
          "fields": {
            "permType": {
              "type": "Type",
              "id": 1
            },
            "key": {
              "type": "bytes",
              "id": 2
            },
            "rangeEnd": {
              "type": "bytes",
              "id": 3
            }
          },
          "nested": {
            "Type": {
              "values": {
                "READ": 0,
                "WRITE": 1,
                "READWRITE": 2
              }
            }
          }
        },
        "Role": {
          "fields": {
            "name": {
              "type": "bytes",
              "id": 1
            },
            "keyPermission": {
              "rule": "repeated",
              "type": "Permission",
              "id": 2
            }
          }
        }
      }
    }
  }
}`);
