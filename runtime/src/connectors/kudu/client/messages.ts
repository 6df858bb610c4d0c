// The subset of Kudu's protobuf messages this client speaks, written for this project from
// the field numbers of Kudu's wire protocol (rpc_header, common, wire_protocol, master and
// tserver definitions). Only the fields the client reads or writes are declared: protobuf
// skips unknown fields, so a newer server's additions do not break decoding.
import protobuf from 'protobufjs';

const definitions = `
syntax = "proto2";
package kudu;

message RequestHeader {
  required int32 call_id = 3;
  optional RemoteMethodPB remote_method = 6;
  optional uint32 timeout_millis = 10;
  repeated uint32 required_feature_flags = 11;
}
message RemoteMethodPB { required string service_name = 1; required string method_name = 2; }
message ResponseHeader {
  required int32 call_id = 1;
  optional bool is_error = 2;
  repeated uint32 sidecar_offsets = 3;
}
message ErrorStatusPB {
  required string message = 1;
  optional int32 code = 2;
  repeated uint32 unsupported_feature_flags = 3;
}
message SaslMechanism { required string mechanism = 2; }
message AuthenticationTypePB {
  message Sasl {}
  message Token {}
  message Certificate {}
  oneof type { Sasl sasl = 1; Token token = 2; Certificate certificate = 3; }
}
message NegotiatePB {
  repeated int32 supported_features = 1;
  required int32 step = 2;
  optional bytes token = 3;
  optional bytes tls_handshake = 5;
  repeated SaslMechanism sasl_mechanisms = 4;
  repeated AuthenticationTypePB authn_types = 7;
}
message UserInformationPB { optional string effective_user = 1; required string real_user = 2; }
message ConnectionContextPB { optional UserInformationPB DEPRECATED_user_info = 2; }

message AppStatusPB { required int32 code = 1; optional string message = 2; optional int32 posix_code = 4; }
message HostPortPB { required string host = 1; required uint32 port = 2; }
message ColumnTypeAttributesPB { optional int32 precision = 1; optional int32 scale = 2; optional int32 length = 3; }
message ColumnSchemaPB {
  optional uint32 id = 1;
  required string name = 2;
  required int32 type = 3;
  optional bool is_key = 4;
  optional bool is_nullable = 5;
  optional ColumnTypeAttributesPB type_attributes = 11;
  optional bool is_auto_incrementing = 14;
}
message SchemaPB { repeated ColumnSchemaPB columns = 1; }
message ColumnIdentifierPB { oneof identifier { int32 id = 1; string name = 2; } }
message RangeSchemaPB { repeated ColumnIdentifierPB columns = 1; }
message HashBucketSchemaPB {
  repeated ColumnIdentifierPB columns = 1;
  required int32 num_buckets = 2;
  optional uint32 seed = 3;
}
message RangeWithHashSchemaPB { optional RowOperationsPB range_bounds = 1; repeated HashBucketSchemaPB hash_schema = 2; }
message PartitionSchemaPB {
  repeated HashBucketSchemaPB hash_schema = 1;
  optional RangeSchemaPB range_schema = 2;
  repeated RangeWithHashSchemaPB custom_hash_schema_ranges = 5;
}
message PartitionPB {
  repeated int32 hash_buckets = 1 [packed = true];
  optional bytes partition_key_start = 2;
  optional bytes partition_key_end = 3;
}
message RowOperationsPB { optional bytes rows = 2; optional bytes indirect_data = 3; }
message RowwiseRowBlockPB { optional int32 num_rows = 1; optional int32 rows_sidecar = 2; optional int32 indirect_data_sidecar = 3; }

message MasterErrorPB { required int32 code = 1; required AppStatusPB status = 2; }
message TableIdentifierPB { optional bytes table_id = 1; optional string table_name = 2; }
message TSInfoPB { required bytes permanent_uuid = 1; repeated HostPortPB rpc_addresses = 2; }
message ReplicaPB { required TSInfoPB ts_info = 1; required int32 role = 2; }
message InternedReplicaPB { required uint32 ts_info_idx = 1; required int32 role = 2; }
message TabletLocationsPB {
  required bytes tablet_id = 1;
  optional PartitionPB partition = 6;
  repeated ReplicaPB DEPRECATED_replicas = 4;
  repeated InternedReplicaPB interned_replicas = 7;
}
message ConnectToMasterRequestPB {}
message ConnectToMasterResponsePB { optional MasterErrorPB error = 1; optional int32 role = 2; }
message GetTableSchemaRequestPB { required TableIdentifierPB table = 1; }
message GetTableSchemaResponsePB {
  optional MasterErrorPB error = 1;
  optional SchemaPB schema = 2;
  optional PartitionSchemaPB partition_schema = 5;
  optional int32 num_replicas = 3;
  optional bytes table_id = 4;
  optional string table_name = 7;
}
message GetTableLocationsRequestPB {
  required TableIdentifierPB table = 1;
  optional bytes partition_key_start = 3;
  optional bytes partition_key_end = 4;
  optional uint32 max_returned_locations = 5;
  optional bool intern_ts_infos_in_response = 7;
}
message GetTableLocationsResponsePB {
  optional MasterErrorPB error = 1;
  repeated TabletLocationsPB tablet_locations = 2;
  repeated TSInfoPB ts_infos = 4;
  optional uint32 ttl_millis = 3;
}
message CreateTableRequestPB {
  required string name = 1;
  required SchemaPB schema = 2;
  optional RowOperationsPB split_rows_range_bounds = 6;
  optional PartitionSchemaPB partition_schema = 7;
  optional int32 num_replicas = 4;
}
message CreateTableResponsePB { optional MasterErrorPB error = 1; optional bytes table_id = 2; }
message IsCreateTableDoneRequestPB { required TableIdentifierPB table = 1; }
message IsCreateTableDoneResponsePB { optional MasterErrorPB error = 1; optional bool done = 3; }
message DeleteTableRequestPB { required TableIdentifierPB table = 1; }
message DeleteTableResponsePB { optional MasterErrorPB error = 1; }

message TabletServerErrorPB { required int32 code = 1; required AppStatusPB status = 2; }
message WriteRequestPB {
  required bytes tablet_id = 1;
  optional SchemaPB schema = 2;
  optional RowOperationsPB row_operations = 3;
}
message PerRowErrorPB { required int32 row_index = 1; required AppStatusPB error = 2; }
message WriteResponsePB { optional TabletServerErrorPB error = 1; repeated PerRowErrorPB per_row_errors = 2; }
message ColumnPredicatePB {
  optional string column = 1;
  message Equality { optional bytes value = 1; }
  message InList { repeated bytes values = 1; }
  message Range { optional bytes lower = 1; optional bytes upper = 2; }
  message IsNotNull {}
  message IsNull {}
  oneof predicate {
    Range range = 2;
    Equality equality = 3;
    IsNotNull is_not_null = 4;
    InList in_list = 5;
    IsNull is_null = 6;
  }
}
message NewScanRequestPB {
  required bytes tablet_id = 1;
  optional uint64 limit = 2;
  repeated ColumnSchemaPB projected_columns = 4;
  optional int32 read_mode = 5;
  optional fixed64 snap_timestamp = 6;
  optional bool cache_blocks = 10;
  optional int32 order_mode = 11;
  optional bytes last_primary_key = 12;
  repeated ColumnPredicatePB column_predicates = 13;
}
message ScanRequestPB {
  optional bytes scanner_id = 1;
  optional NewScanRequestPB new_scan_request = 2;
  optional uint32 call_seq_id = 3;
  optional uint32 batch_size_bytes = 4;
  optional bool close_scanner = 5;
}
message ScanResponsePB {
  optional TabletServerErrorPB error = 1;
  optional bytes scanner_id = 2;
  optional bool has_more_results = 3;
  optional RowwiseRowBlockPB data = 4;
  optional fixed64 snap_timestamp = 6;
  optional bytes last_primary_key = 7;
}
message ScannerKeepAliveRequestPB { required bytes scanner_id = 1; }
message ScannerKeepAliveResponsePB { optional TabletServerErrorPB error = 1; }
`;

const root = protobuf.parse(definitions, { keepCase: true }).root;

/** A message type of the subset: encode from a plain object, decode to a plain object. */
export interface MessageType<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

export function messageType<T>(name: string): MessageType<T> {
  const type = root.lookupType(`kudu.${name}`);
  return {
    encode: (value) => type.encode(type.fromObject(value as Record<string, unknown>)).finish(),
    // int64s as decimal strings: no precision lost, and the callers that need numbers convert.
    decode: (bytes) => type.toObject(type.decode(bytes), { longs: String, defaults: false }) as T,
  };
}
