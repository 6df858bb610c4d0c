// The job graph contract: the shape of a StreamJob's `spec.graph`. The operator imports
// these types and the validator, so this folder never imports the engine or the connectors
// (connectors/validate-graph.ts adds the connectors' config rules to the graph rules).
// Durations are strings like "500ms", "10s", "1m", "2h", "1d" (see duration.ts).

import type { KuduSinkSpec, KuduSourceSpec } from './kudu-spec.ts';

export type {
  KuduCreateTableSpec,
  KuduPredicateSpec,
  KuduRangePartitionSpec,
  KuduRangeRow,
  KuduSinkSpec,
  KuduSourceSpec,
  KuduTlsSpec,
} from './kudu-spec.ts';
import type { FieldType } from '../core/record.ts';

export interface TimestampSpec {
  /** Record field holding the event time (or `assigner`). */
  field?: string;
  /** `millis` = epoch milliseconds (number or numeric string); `iso` = ISO-8601 string. Required with `field`. */
  format?: 'millis' | 'iso';
  /**
   * Instead of `field`: the name of a timestamp-assigner function (record → epoch ms) that the
   * job's code registered (the TypeScript API's WatermarkStrategy does it).
   */
  assigner?: string;
  /** Bounded out-of-orderness: watermark = max timestamp seen − bound − 1ms. */
  maxOutOfOrderness: string;
  /** A partition (or source) with no records for this long stops holding back the watermark. */
  idleTimeout?: string;
  /**
   * Watermark alignment: a partition or slot whose watermark runs more than `maxDrift` ahead of
   * its group's minimum stops reading until it is not. Absent: on, with ALIGNMENT_DEFAULTS and
   * the source's name as group; `false`: off. Caught-up partitions (nothing left to read now)
   * do not hold a group back.
   */
  alignment?: AlignmentSpec | false;
}

export interface AlignmentSpec {
  /** Sources sharing a group are aligned with each other. Default: the source's name. */
  group?: string;
  /** How far (event time) a partition may run ahead of the group's minimum watermark. */
  maxDrift: string;
  /** How often slots in other processes exchange their watermarks. Default 200ms. */
  updateInterval?: string;
}

/**
 * What a source with event time and no `alignment` gets (and an `alignment` block's optional
 * fields). 20 s: records late by more than 1.25 × 20 s + maxOutOfOrderness are late at every
 * parallelism, window state during a backfill spans under half a minute of event time, and a
 * poll may still span 5 s of event time, which live streams and most backlogs never reach in a
 * batch. 200 ms: how stale a slot in another pod may see the group's minimum.
 */
export const ALIGNMENT_DEFAULTS = { maxDrift: '20s', updateInterval: '200ms' } as const;

export type RecordFormat = 'json' | 'string' | 'bytes';

export interface KafkaSourceSpec {
  brokers: string[] | string;
  topic: string;
  groupId?: string;
  /** Where to start when no offset is known. Default `earliest`. */
  startFrom?: 'earliest' | 'latest';
  /** `latest`: stop after the end offsets seen at start (a bounded read). Default: unbounded. */
  bounded?: 'latest';
  format?: RecordFormat;
  /** Records that cannot be parsed: `skip` (count and drop) or `deadLetter` (count and send to `deadLetterTopic`). */
  onError?: 'skip' | 'deadLetter';
  deadLetterTopic?: string;
  clientId?: string;
  /** Declared field types, used to type-check expressions. */
  schema?: Record<string, FieldType>;
  /** How often a running source looks for partitions added to its topic (duration). Default `30s`; `0` = never. */
  partitionDiscoveryInterval?: string;
}

export interface DatagenFieldSpec {
  type: 'int' | 'double' | 'string' | 'bool' | 'sequence' | 'timestamp';
  min?: number;
  max?: number;
  values?: (string | number | boolean)[];
  /** Strings: `${prefix}${n}` with n uniform in [0, cardinality). */
  prefix?: string;
  cardinality?: number;
}

export interface DatagenSourceSpec {
  generator: 'nexmark' | 'schema';
  seed?: number;
  /** Records per second across all slots; omitted = as fast as possible. */
  rate?: number;
  /** Total records across all slots; omitted = unbounded. */
  count?: number;
  /** Event time of record 0 (epoch ms). Default: job start time. Record i is at startTime + i*1000/eventRate. */
  startTime?: number;
  /** Event-time records per second used for timestamps; defaults to `rate`, or 1000 when no rate. */
  eventRate?: number;
  /** nexmark only: which event kinds to emit. Default all (person:auction:bid = 1:3:46). */
  events?: ('person' | 'auction' | 'bid')[];
  /** schema only: field generators. */
  fields?: Record<string, DatagenFieldSpec>;
}

export interface FileSourceSpec {
  path: string;
  format?: RecordFormat;
  onError?: 'skip' | 'fail';
  schema?: Record<string, FieldType>;
}

export interface CollectionSourceSpec {
  /** Objects (records with fields); or, with `values`, any JSON values. Exactly one of the two. */
  records?: Record<string, unknown>[];
  /** Elements of any JSON type, each emitted as it is (the TypeScript API's fromCollection of numbers, strings). */
  values?: unknown[];
  schema?: Record<string, FieldType>;
}

export interface DruidSourceSpec {
  /** Druid router or broker, e.g. http://druid-router:8888 (SQL at POST /druid/v2/sql). */
  url: string;
  /** Druid SQL. As a source: run once, its rows are the (bounded) stream. */
  query: string;
  /** Only for a source read by `lookup` steps: how often the table is re-queried. Default 1m. */
  refresh?: string;
  /** HTTP timeout of one query. Default 30s. */
  timeout?: string;
}

export interface SourceSpec {
  name: string;
  kudu?: KuduSourceSpec;
  kafka?: KafkaSourceSpec;
  datagen?: DatagenSourceSpec;
  file?: FileSourceSpec;
  collection?: CollectionSourceSpec;
  druid?: DruidSourceSpec;
  timestamp?: TimestampSpec;
}

export type KeyBySpec =
  | string
  | string[]
  | { fields: string[] }
  | { expr: string; as?: string }
  /** A key-selector function the job's code registered under this name (TypeScript API). */
  | { function: string };

export interface WindowSpec {
  tumbling?: { size: string; offset?: string };
  sliding?: { size: string; slide: string };
  session?: { gap: string };
  /** Default `event`. */
  time?: 'event' | 'processing';
  allowedLateness?: string;
  /** Name of a stream that receives records too late for every window; steps and sinks may read it with `from`. */
  lateOutput?: string;
}

/**
 * Output field name → `fn(expr)`, fn ∈ count, sum, min, max, avg, countDistinct, first, last. `count()` takes no
 * argument.
 */
export type AggregateSpec = Record<string, string>;

export interface JoinSpec {
  /** Right record ts must lie in [left.ts + lowerBound, left.ts + upperBound]; bounds may be negative ("-5s"). */
  lowerBound: string;
  upperBound: string;
  /** Output projection: field → CEL over `left` and `right`. Default: fields of right merged over left. */
  select?: Record<string, string>;
}

export interface DedupeSpec {
  /** A key seen again within this long (event time) after its first record is dropped. */
  within: string;
}

export interface FlatMapSpec {
  /** CEL expression returning a list; map elements become records, other elements become `{ [as]: element }`. */
  expr: string;
  as?: string;
}

/**
 * Enrichment from a table (a `druid` or `kudu` source used as a lookup table, loaded again
 * every `refresh`): each input record gets the fields of the table row whose `column` equals the
 * value of `key` (CEL over the record).
 */
export interface LookupSpec {
  /** Name of a `druid` or `kudu` source; it is then a table, not a stream (no other node reads it). */
  table: string;
  /**
   * CEL over the input record giving the lookup key (compared as a string); a list (one
   * expression per entry of `column`, same length) for a composite key, matched as the tuple.
   */
  key: string | string[];
  /** Table column holding the key; a list of columns (as `key`) for a composite key. */
  column: string | string[];
  /** Table columns to add (default: all but the key columns); table fields overwrite record fields. */
  fields?: string[];
  /** A record without a matching row: `keep` it unchanged (default) or `drop` it. */
  onMissing?: 'keep' | 'drop';
}

export const FUNCTION_STEP_KINDS = ['map', 'filter', 'flatMap', 'process', 'reduce', 'aggregate'] as const;
export type FunctionStepKind = (typeof FUNCTION_STEP_KINDS)[number];

/**
 * A step that runs a function of the job's code (the TypeScript API writes these). The
 * function is not in the spec: `ref` names it in the registry the job's code hands the
 * executor, so such a graph runs only together with that code. map/filter/flatMap read any
 * stream; process/reduce/aggregate read a keyBy (keyed state, timers), reduce/aggregate with
 * `window` aggregate per key and window.
 */
export interface FunctionStepSpec {
  kind: FunctionStepKind;
  ref: string;
  /** reduce/aggregate only: aggregate per window instead of a running value per key. */
  window?: WindowSpec;
  /**
   * A function that throws, in a step without errorOutput: `fail` the job (TRIB_FUNCTION_FAILED
   * with the record attached; restarts follow the job's policy) or `skip` the record (counted
   * in tributary_function_errors_total, logged with it). Default: the job's onRecordError when
   * set, else `fail`.
   */
  onError?: 'fail' | 'skip';
}

export interface StepSpec {
  name: string;
  from: string | string[];
  filter?: string;
  map?: Record<string, string>;
  flatMap?: FlatMapSpec;
  keyBy?: KeyBySpec;
  window?: WindowSpec;
  aggregate?: AggregateSpec;
  union?: Record<string, never> | null;
  join?: JoinSpec;
  dedupe?: DedupeSpec;
  lookup?: LookupSpec;
  function?: FunctionStepSpec;
  /**
   * Name of a stream that receives each record an expression of this step failed on (or its
   * function threw on), as `{step, error, code?, record}` at the record's event time (a
   * dead-letter output: a sink reads it with `from`). Steps: filter, map, flatMap (CEL, or a
   * function of those kinds), keyBy on an expression or a function, aggregate (its argument
   * expressions), lookup (its key) and join (its select; `record` is `{left, right}`). Without
   * it the job's `onRecordError` applies (for a function: its onError first).
   */
  errorOutput?: string;
}

/** ERROR_OUTPUT_STEPS: the function step kinds that may name an errorOutput. */
export const ERROR_OUTPUT_STEPS = ['filter', 'map', 'flatMap'] as const;

/** The CEL step kinds that may name an errorOutput: those that evaluate an expression per record. */
export const ERROR_OUTPUT_CEL_STEPS = ['filter', 'map', 'flatMap', 'keyBy', 'aggregate', 'lookup', 'join'] as const;

export interface KafkaSinkSpec {
  brokers: string[] | string;
  topic: string;
  /** CEL expression for the message key; default none. */
  key?: string;
  format?: 'json' | 'string';
  clientId?: string;
  /**
   * `exactly-once`: Kafka transactions committed when a checkpoint completes (read_committed
   * readers see each record once); written explicitly, a job without checkpoints refuses to
   * start. `at-least-once`: plain sends (duplicates possible after a restart). Default:
   * exactly-once when the job takes checkpoints, else at-least-once (connectors/sink-delivery.ts).
   */
  delivery?: 'exactly-once' | 'at-least-once';
  /** Prefix of the transactional ids (`<prefix>-<slot>-<n>`); default `tributary-<job>-<sink>`. Unique per job. */
  transactionalIdPrefix?: string;
  /** Kafka transaction timeout (ms, ≤ the broker's transaction.max.timeout.ms); default 900000. */
  transactionTimeoutMs?: number;
}

export interface ConsoleSinkSpec {
  /** Prefix each line with the sink name. Default false. */
  prefix?: boolean;
}

export interface FileSinkSpec {
  /** JSON lines. `{slot}` in the path gives one file per slot. */
  path: string;
}

export interface DruidSinkSpec {
  /** A DruidDatasource in the StreamJob's namespace. */
  datasourceRef: string;
  /**
   * The datasource's Kafka topic. The operator fills it from the DruidDatasource
   * (spec.kafka.bootstrapServers/topic) in the JobConfig it hands the slots; `tributary run`
   * needs it written inline. Absent at start = TRIB_CONNECTOR_UNSUPPORTED naming the field.
   */
  kafka?: { brokers: string[] | string; topic: string };
  /** The datasource's timestamp column (operator-filled from spec.timestamp); rows without it get one. */
  timestamp?: { column: string; format?: 'millis' | 'iso' | 'auto' | 'posix' | 'micro' | 'nano' };
  /** Prefix of the Kafka transactional ids; default `tributary-<job>-<sink>`. */
  transactionalIdPrefix?: string;
  /** As the Kafka sink's `delivery` (it is the Kafka sink underneath). */
  delivery?: 'exactly-once' | 'at-least-once';
}

export interface SinkSpec {
  name: string;
  from: string;
  kafka?: KafkaSinkSpec;
  console?: ConsoleSinkSpec | null;
  file?: FileSinkSpec;
  druid?: DruidSinkSpec;
  kudu?: KuduSinkSpec;
  /**
   * kafka with `key`: name of a stream that receives each record the key expression fails on,
   * as `{step, error, code?, record}` (step: the sink's name) at its event time; the record is
   * not written. Without it such a record is written without a key.
   */
  errorOutput?: string;
}

export interface GraphSpec {
  sources: SourceSpec[];
  steps?: StepSpec[];
  sinks: SinkSpec[];
  /**
   * A record an expression fails on, in a step without errorOutput: `skip` (default; counted in
   * tributary_expression_errors_total and dropped) or `fail` (the job fails with
   * TRIB_RECORD_FAILED naming the step, the error and the record, and restarts from its last
   * checkpoint like any failure — the record is never silently lost).
   */
  onRecordError?: 'skip' | 'fail';
}

export const SOURCE_KINDS = ['kafka', 'datagen', 'file', 'collection', 'druid', 'kudu'] as const;
export const STEP_KINDS = [
  'filter',
  'map',
  'flatMap',
  'keyBy',
  'window',
  'aggregate',
  'union',
  'join',
  'dedupe',
  'lookup',
  'function',
] as const;
export const SINK_KINDS = ['kafka', 'console', 'file', 'druid', 'kudu'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];
export type StepKind = (typeof STEP_KINDS)[number];
export type SinkKind = (typeof SINK_KINDS)[number];

export const AGGREGATE_FUNCTIONS = ['count', 'sum', 'min', 'max', 'avg', 'countDistinct', 'first', 'last'] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];
