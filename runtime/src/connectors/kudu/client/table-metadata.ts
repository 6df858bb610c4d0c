// A table as the master describes it (GetTableSchema): id, schema and partitioning, and the
// CreateTable request for a new one (hash partitions, optionally range-partitioned by key columns:
// one unbounded range, or explicit ranges and split rows).
import { kuduError, type ServiceError } from './kudu-errors.ts';
import { masterFailure, type MasterClient } from './master-client.ts';
import { messageType } from './messages.ts';
import type { Row } from './cell-values.ts';
import type { Partitioning } from './partitioning.ts';
import { encodeRangePartitions, type RangeBounds } from './range-bounds.ts';
import type { Deadline } from './retry.ts';
import { Schema, type ColumnSchemaWire, type ColumnSpec } from './schema.ts';

export interface KuduTable {
  readonly name: string;
  readonly id: Buffer;
  readonly schema: Schema;
  readonly partitioning: Partitioning;
}

type ColumnId = { id?: number; name?: string };
interface HashSchemaWire {
  columns: ColumnId[];
  num_buckets: number;
  seed?: number;
}
interface PartitionSchemaWire {
  hash_schema?: HashSchemaWire[];
  range_schema?: { columns?: ColumnId[] };
  custom_hash_schema_ranges?: unknown[];
}
interface SchemaResponse {
  error?: ServiceError;
  schema?: { columns?: ColumnSchemaWire[] };
  partition_schema?: PartitionSchemaWire;
  table_id?: Uint8Array;
  table_name?: string;
}
const GetTableSchemaRequestPB = messageType<{ table: { table_name: string } }>('GetTableSchemaRequestPB');
const GetTableSchemaResponsePB = messageType<SchemaResponse>('GetTableSchemaResponsePB');

export async function describeTable(master: MasterClient, name: string, d: Deadline): Promise<KuduTable> {
  const res = await master.call(
    'GetTableSchema',
    GetTableSchemaRequestPB,
    GetTableSchemaResponsePB,
    { table: { table_name: name } },
    d,
  );
  if (res.error) throw masterFailure(`table "${name}"`, res.error);
  if (!res.table_id || !res.schema)
    throw kuduError('TRIB_KUDU_PROTOCOL', `GetTableSchema("${name}") lacks id or schema`);
  const schema = Schema.fromWire(name, res.schema.columns ?? []);
  const ps = res.partition_schema ?? {};
  if ((ps.custom_hash_schema_ranges ?? []).length > 0) {
    throw kuduError(
      'TRIB_KUDU_UNSUPPORTED',
      `table "${name}" has ranges with their own hash schemas; not supported yet`,
    );
  }
  const index = (c: ColumnId): number => {
    if (c.id !== undefined) return schema.indexOfId(c.id);
    const i = c.name === undefined ? undefined : schema.indexOf(c.name);
    if (i === undefined) throw kuduError('TRIB_KUDU_PROTOCOL', `table "${name}": partition names an unknown column`);
    return i;
  };
  return {
    name,
    id: Buffer.from(res.table_id),
    schema,
    partitioning: {
      hash: (ps.hash_schema ?? []).map((h) => ({
        columns: h.columns.map(index),
        buckets: h.num_buckets,
        seed: h.seed ?? 0,
      })),
      range: (ps.range_schema?.columns ?? []).map(index),
    },
  };
}

export interface CreateTableSpec {
  readonly name: string;
  readonly columns: readonly ColumnSpec[];
  /** One hash dimension per entry; columns must be key columns. */
  readonly hashPartitions: readonly { readonly columns: readonly string[]; readonly buckets: number }[];
  /** Key columns to range-partition by; default none. */
  readonly rangeColumns?: readonly string[];
  /** Ranges of `rangeColumns`, each [lower, upper); default one unbounded range. */
  readonly ranges?: readonly RangeBounds[];
  /** Rows of `rangeColumns` at which the ranges are split further. */
  readonly splitRows?: readonly Row[];
  readonly replicas?: number;
}

interface CreateRequest {
  name: string;
  schema: { columns: ColumnSchemaWire[] };
  partition_schema: PartitionSchemaWire;
  split_rows_range_bounds?: { rows: Uint8Array; indirect_data: Uint8Array };
  num_replicas?: number;
}
const CreateTableRequestPB = messageType<CreateRequest>('CreateTableRequestPB');
const CreateTableResponsePB = messageType<{ error?: ServiceError; table_id?: Uint8Array }>('CreateTableResponsePB');
const IsCreateTableDoneRequestPB = messageType<{ table: { table_id: Uint8Array } }>('IsCreateTableDoneRequestPB');
const IsCreateTableDoneResponsePB = messageType<{ error?: ServiceError; done?: boolean }>(
  'IsCreateTableDoneResponsePB',
);

export async function createTable(master: MasterClient, spec: CreateTableSpec, d: Deadline): Promise<Buffer> {
  const schema = Schema.fromSpecs(spec.columns);
  const keyColumn = (n: string, where: string): { name: string } => {
    const i = schema.indexOf(n);
    if (i === undefined || !schema.columns[i]!.key) {
      throw kuduError('TRIB_KUDU_SCHEMA', `table "${spec.name}": ${where} names "${n}", which is not a key column`);
    }
    return { name: n };
  };
  const rangeColumns = spec.rangeColumns ?? [];
  const bounded = (spec.ranges ?? []).length > 0 || (spec.splitRows ?? []).length > 0;
  if (bounded && rangeColumns.length === 0) {
    throw kuduError('TRIB_KUDU_SCHEMA', `table "${spec.name}": ranges and split rows need rangeColumns`);
  }
  const rangeIndexes = rangeColumns.map((c) => schema.indexOf(keyColumn(c, 'the range partition').name)!);
  const bounds = bounded
    ? encodeRangePartitions(spec.name, schema, rangeIndexes, spec.ranges ?? [], spec.splitRows ?? [])
    : undefined;
  const res = await master.call(
    'CreateTable',
    CreateTableRequestPB,
    CreateTableResponsePB,
    {
      name: spec.name,
      schema: { columns: schema.toWire() },
      partition_schema: {
        hash_schema: spec.hashPartitions.map((h, i) => ({
          columns: h.columns.map((c) => keyColumn(c, `hash partition ${i}`)),
          num_buckets: h.buckets,
        })),
        range_schema: { columns: rangeColumns.map((name) => ({ name })) },
      },
      ...(bounds ? { split_rows_range_bounds: { rows: bounds.rows, indirect_data: bounds.indirect } } : {}),
      ...(spec.replicas === undefined ? {} : { num_replicas: spec.replicas }),
    },
    d,
  );
  if (res.error) throw masterFailure(`creating table "${spec.name}"`, res.error);
  if (!res.table_id) throw kuduError('TRIB_KUDU_PROTOCOL', `CreateTable("${spec.name}") returned no table id`);
  const id = Buffer.from(res.table_id);
  for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
    const done = await master.call(
      'IsCreateTableDone',
      IsCreateTableDoneRequestPB,
      IsCreateTableDoneResponsePB,
      { table: { table_id: id } },
      d,
    );
    if (done.error) throw masterFailure(`creating table "${spec.name}"`, done.error);
    if (done.done === true) return id;
    if (Date.now() + wait > d.at) throw kuduError('TRIB_KUDU_TIMEOUT', `table "${spec.name}" was not ready in time`);
    await new Promise((r) => setTimeout(r, wait));
  }
}

const DeleteTableRequestPB = messageType<{ table: { table_name: string } }>('DeleteTableRequestPB');
const DeleteTableResponsePB = messageType<{ error?: ServiceError }>('DeleteTableResponsePB');

export async function deleteTable(master: MasterClient, name: string, d: Deadline): Promise<void> {
  const res = await master.call(
    'DeleteTable',
    DeleteTableRequestPB,
    DeleteTableResponsePB,
    { table: { table_name: name } },
    d,
  );
  if (res.error) throw masterFailure(`deleting table "${name}"`, res.error);
}
