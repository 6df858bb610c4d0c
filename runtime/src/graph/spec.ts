// The job graph contract: the shape of a StreamJob's `spec.graph` (steps' and connectors' parts in
// step-spec.ts, connector-spec.ts and kudu-spec.ts). The operator imports
// these types and the validator, so this folder never imports the engine or the connectors
// (connectors/validate-graph.ts adds the connectors' config rules to the graph rules).
// Durations are strings like "500ms", "10s", "1m", "2h", "1d" (see duration.ts).

import type {
  CollectionSourceSpec,
  ConsoleSinkSpec,
  DatagenSourceSpec,
  DruidSinkSpec,
  DruidSourceSpec,
  FileSinkSpec,
  FileSourceSpec,
  KafkaSinkSpec,
  KafkaSourceSpec,
} from './connector-spec.ts';
import type { KuduSinkSpec, KuduSourceSpec } from './kudu-spec.ts';
import type {
  AggregateSpec,
  DedupeSpec,
  FlatMapSpec,
  FunctionStepSpec,
  JoinSpec,
  KeyBySpec,
  LookupSpec,
  WindowSpec,
} from './step-spec.ts';

export type {
  CollectionSourceSpec,
  ConsoleSinkSpec,
  DatagenFieldSpec,
  DatagenSourceSpec,
  DruidSinkSpec,
  DruidSourceSpec,
  FileSinkSpec,
  FileSourceSpec,
  KafkaSinkSpec,
  KafkaSourceSpec,
  RecordFormat,
  RegistryFormat,
  RegistrySchemaSpec,
  SchemaRegistrySpec,
} from './connector-spec.ts';
export type {
  AggregateSpec,
  DedupeSpec,
  FlatMapSpec,
  FunctionStepKind,
  FunctionStepSpec,
  JoinSpec,
  KeyBySpec,
  LookupSpec,
  WindowSpec,
} from './step-spec.ts';
export { FUNCTION_STEP_KINDS } from './step-spec.ts';

export type {
  KuduCreateTableSpec,
  KuduPredicateSpec,
  KuduRangePartitionSpec,
  KuduRangeRow,
  KuduSinkSpec,
  KuduSourceSpec,
  KuduTlsSpec,
} from './kudu-spec.ts';

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

/**
 * @xKubernetesValidations [
 *   {
 *     rule: "[has(self.kafka), has(self.datagen), has(self.file), has(self.collection), has(self.druid), \
 *       has(self.kudu)].filter(x, x).size() == 1",
 *     message: "a source takes exactly one connector (kafka, datagen, file, collection, druid or kudu)",
 *   },
 * ]
 */
export interface SourceSpec {
  /**
   * Unique among the graph's sources, steps and sinks (letters, digits, _ and -, starting with a letter); `from`
   * refers to it. Checkpointed state is matched by name: renaming a stateful node loses its state, and a restore
   * fails unless restore.allowNonRestoredState.
   * @minLength 1
   * @maxLength 63
   * @pattern ^[a-zA-Z][a-zA-Z0-9_-]*$
   */
  name: string;
  /**
   * Apache Kudu table scan: {masters, tls?, table, columns?, equals?, predicates?: [{column, op: = | >= | < | in |
   * isNull | isNotNull, value? | values?}]}: a bounded stream, tablets split across slots, each read at a snapshot
   * in key order; or, when a lookup step names it as its table, a table scanned again every refresh (mode: copy,
   * the default) or read by point gets on its primary key through a cache (mode: get, maxEntries?, ttl?). See
   * docs/runtime/kudu.md.
   */
  kudu?: KuduSourceSpec;
  /**
   * Kafka topic: {brokers ("h:p,h:p" or a list), topic, groupId?, startFrom?: earliest (default) | latest,
   * bounded?: latest, format?: json (default) | string | bytes, onError?: skip | deadLetter, deadLetterTopic?,
   * clientId?, schema?, partitionDiscoveryInterval? (duration, default 30s; 0 = never), brokerUnreachableTimeout?
   * (default 30s), topicMissingTimeout? (default 5m), requestTimeout? (kafkajs's, default 30s)}. Partitions are
   * spread over the slots; offsets are checkpointed. A topic that does not exist yet is waited for (condition
   * WaitingForInput, reason TopicMissing), up to topicMissingTimeout, and read once it is created; partitions added
   * to the topic are picked up every partitionDiscoveryInterval and read from their earliest offset. See
   * docs/runtime/graph.md.
   */
  kafka?: KafkaSourceSpec;
  /**
   * Synthetic records: {generator: nexmark | schema, seed? (42), rate? (records/s over all slots; default
   * unlimited), count? (total; default unbounded), startTime?, eventRate?, events? (nexmark), fields? (schema:
   * name → {type, min?, max?, values?, prefix?, cardinality?})}. See docs/runtime/graph.md.
   */
  datagen?: DatagenSourceSpec;
  /**
   * A file inside the slot pods, read once (bounded): {path, format?: json (default, JSON lines) | string | bytes,
   * onError?: skip (default) | fail, schema?}; slot s of p reads lines s, s+p, …. See docs/runtime/graph.md.
   */
  file?: FileSourceSpec;
  /**
   * Inline records (bounded): {records: [{...}, ...], schema? (default: inferred from the records)}. See
   * docs/runtime/graph.md.
   */
  collection?: CollectionSourceSpec;
  /**
   * Druid SQL: {url (router or broker), query, refresh? (1m), timeout? (per query, 30s), unavailableTimeout? (lookup
   * tables, 5m)}. A bounded stream (slot 0 runs the query once), or, when a lookup step names it as its table, a table
   * re-queried every refresh. See docs/runtime/graph.md and docs/runtime/druid.md.
   */
  druid?: DruidSourceSpec;
  /**
   * Event time from a record field: {field, format: millis | iso, maxOutOfOrderness (duration; watermark = max
   * timestamp − bound − 1 ms), idleTimeout?, alignment?: {group?, maxDrift, updateInterval?} | false}. Watermark
   * alignment is on unless alignment is false: a partition ahead of its group's minimum watermark by more than
   * maxDrift pauses; caught-up partitions (nothing left to read now) do not hold the group back. Default
   * {maxDrift: 20s, updateInterval: 200ms, group: the source's name}. Without timestamp records carry their
   * ingestion time. See docs/runtime/graph.md.
   */
  timestamp?: TimestampSpec;
}

export interface StepSpec {
  /**
   * Unique among the graph's sources, steps and sinks (letters, digits, _ and -, starting with a letter); `from`
   * refers to it. Checkpointed state is matched by name: renaming a stateful node loses its state, and a restore
   * fails unless restore.allowNonRestoredState.
   * @minLength 1
   * @maxLength 63
   * @pattern ^[a-zA-Z][a-zA-Z0-9_-]*$
   */
  name: string;
  /**
   * Input: the name of a source, step or window lateOutput, or a list of names (union: two or more; join: [left,
   * right]).
   */
  from: string | string[];
  /**
   * CEL boolean expression: records for which it is true pass, e.g. price > 10.0 && country == "de".
   * @maxLength 4096
   */
  filter?: string;
  /**
   * Projection: output field → CEL expression; the output has exactly these fields.
   */
  map?: Record<string, string>;
  /**
   * {expr: CEL returning a list, as?: field}: one record per element; map elements become records, other elements
   * {<as>: element}.
   */
  flatMap?: FlatMapSpec;
  /**
   * Key of the records for a following window, aggregate, dedupe or join: a field name, a list of fields, {fields:
   * [...]} or {expr: CEL, as?: name}. Repartitions records between the slots by key.
   */
  keyBy?: KeyBySpec;
  /**
   * {tumbling: {size, offset?} | sliding: {size, slide} | session: {gap}, time?: event (default) | processing,
   * allowedLateness?, lateOutput?: stream name}. Input must be a keyBy; exactly one aggregate step reads it. See
   * docs/runtime/graph.md.
   */
  window?: WindowSpec;
  /**
   * Output field → fn(expr), fn one of count() (no argument), sum, min, max, avg, countDistinct, first, last.
   * After a window: one result per key and window (key fields, window_start, window_end); after a keyBy: a running
   * result per record.
   */
  aggregate?: AggregateSpec;
  /**
   * `{}`: merges the two or more inputs listed in `from`.
   */
  union?: Record<string, never> | null;
  /**
   * Interval join of from: [left, right] (both keyBy with the same key arity): {lowerBound, upperBound, select?};
   * right.ts must lie in [left.ts + lowerBound, left.ts + upperBound] (durations, may be negative); select maps
   * output field → CEL over left and right (default: right's fields over left's).
   */
  join?: JoinSpec;
  /**
   * {within?: duration}: input must be a keyBy; the first record of a key passes, repeats within that much event
   * time are dropped; without `within`, every repeat is dropped (keep-first; bound its state with `ttl`).
   */
  dedupe?: DedupeSpec;
  /**
   * Enrichment from a druid or kudu source used as a table: {table (the source's name), key (CEL over the record),
   * column (table column matched as a string), fields? (default: all but the key columns), onMissing?: keep
   * (default) | drop}. A composite key: key and column both lists of the same length, matched as the tuple. See
   * docs/runtime/graph.md.
   */
  lookup?: LookupSpec;
  function?: FunctionStepSpec;
  /**
   * filter, map, flatMap, keyBy (an expression or function key), aggregate (its argument expressions), lookup (its
   * key) and join (its select; record is {left, right}): a stream name that receives every record an expression of
   * this step failed on, as {step, error, code?, record, origin?} at the record's event time (origin: the Kafka
   * source record it came from, when the step runs in that source's chain) — a dead-letter output a sink reads
   * with `from` (e.g. an exactly-once Kafka topic). Without it, graph.onRecordError applies.
   * @maxLength 63
   * @pattern ^[a-zA-Z][a-zA-Z0-9_-]*$
   */
  errorOutput?: string;
  /**
   * Rolling aggregate, dedupe and join (a duration, processing time): a rolling aggregate's key's accumulators
   * expire this long after the key's last record, and its next record starts a new aggregate; a dedupe forgets a
   * key this long after its last passed record, and its next record passes; a join's buffered record expires this
   * long after it was buffered. Default: kept forever (a dedupe with `within` and a join: until the watermark
   * passes them). Windows take none. See docs/runtime/graph.md.
   */
  ttl?: string;
}

/** ERROR_OUTPUT_STEPS: the function step kinds that may name an errorOutput. */
export const ERROR_OUTPUT_STEPS = ['filter', 'map', 'flatMap'] as const;

/** The CEL step kinds that may name an errorOutput: those that evaluate an expression per record. */
export const ERROR_OUTPUT_CEL_STEPS = ['filter', 'map', 'flatMap', 'keyBy', 'aggregate', 'lookup', 'join'] as const;

/**
 * @xKubernetesValidations [
 *   {
 *     rule: "[has(self.kafka), has(self.console), has(self.file), has(self.druid), has(self.kudu)].filter(x, \
 *       x).size() == 1",
 *     message: "a sink takes exactly one connector (kafka, console, file, druid or kudu)",
 *   },
 * ]
 */
export interface SinkSpec {
  /**
   * Unique among the graph's sources, steps and sinks (letters, digits, _ and -, starting with a letter); `from`
   * refers to it. Checkpointed state is matched by name: renaming a stateful node loses its state, and a restore
   * fails unless restore.allowNonRestoredState.
   * @minLength 1
   * @maxLength 63
   * @pattern ^[a-zA-Z][a-zA-Z0-9_-]*$
   */
  name: string;
  /**
   * Input: the name of one source, step, window lateOutput or errorOutput.
   * @minLength 1
   * @maxLength 63
   */
  from: string;
  /**
   * Kafka topic: {brokers, topic, key? (CEL for the message key), format?: json | string, clientId?, delivery?:
   * exactly-once (default: transactions committed when a checkpoint completes) | at-least-once,
   * transactionalIdPrefix? (tributary-<job>-<sink>), transactionTimeoutMs? (900000), brokerUnreachableTimeout? (30s),
   * requestTimeout? (kafkajs's, 30s), retries? (kafkajs's, 5)}. See docs/runtime/graph.md.
   */
  kafka?: KafkaSinkSpec;
  /**
   * {prefix?: bool (default false)}: JSON lines on the slot pods' stdout (kubectl logs).
   */
  console?: ConsoleSinkSpec | null;
  /**
   * {path}: JSON lines written inside the slot pods; {slot} in the path gives one file per slot.
   */
  file?: FileSinkSpec;
  /**
   * {datasourceRef (a DruidDatasource in this namespace), transactionalIdPrefix?, delivery?: exactly-once
   * (default) | at-least-once}: JSON rows to that datasource's Kafka topic, exactly once unless delivery says
   * otherwise. The operator fills in kafka and timestamp from the DruidDatasource; a missing (or deleting) one
   * makes the job Degraded (InvalidSpec) and blocks (re)deployment. See docs/runtime/druid.md.
   */
  druid?: DruidSinkSpec;
  /**
   * Apache Kudu table: {masters, tls?, table, deleteWhen? (bool CEL: delete by key), createTable?}: upserts by
   * primary key, acknowledged by Kudu before each checkpoint completes (replays are idempotent). See
   * docs/runtime/kudu.md.
   */
  kudu?: KuduSinkSpec;
  /**
   * kafka sinks with a key: a stream name that receives every record the key expression fails on, as {step (the
   * sink's name), error, code?, record, origin?} at its event time, instead of writing it (without it, such a
   * record follows graph.onRecordError; it is never written without a key). Another sink reads it with `from`.
   * @maxLength 63
   * @pattern ^[a-zA-Z][a-zA-Z0-9_-]*$
   */
  errorOutput?: string;
}

export interface GraphSpec {
  /**
   * Where records come from (1 to 64): each has a name, exactly one connector (kafka, datagen, file, collection,
   * druid or kudu) and optionally a timestamp.
   * @minItems 1
   * @maxItems 64
   * @xKubernetesListType map
   * @xKubernetesListMapKeys ["name"]
   */
  sources: SourceSpec[];
  /**
   * Transformations (optional, up to 256): each has a name, `from` and exactly one of filter, map, flatMap, keyBy,
   * window, aggregate, union, join, dedupe or lookup. Expressions are CEL over the record's fields.
   * @maxItems 256
   * @xKubernetesListType map
   * @xKubernetesListMapKeys ["name"]
   */
  steps?: StepSpec[];
  /**
   * Where results go (1 to 64): each has a name, `from` (one input) and exactly one connector (kafka, console,
   * file, druid or kudu).
   * @minItems 1
   * @maxItems 64
   * @xKubernetesListType map
   * @xKubernetesListMapKeys ["name"]
   */
  sinks: SinkSpec[];
  /**
   * A record an expression fails on, in a step without errorOutput: skip (default; counted in
   * tributary_expression_errors_total and dropped) or fail (the job fails with TRIB_RECORD_FAILED naming the step,
   * the error and the record, and restarts from its last checkpoint).
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
