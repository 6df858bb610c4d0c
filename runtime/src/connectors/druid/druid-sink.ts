// Druid sink: rows go to the Kafka topic that the referenced DruidDatasource's supervisor
// ingests (with isolation.level=read_committed), as JSON objects. It IS the Kafka sink:
//   * exactly-once (with checkpoints, by default): the TransactionalKafkaSink (rows of
//     checkpoint N become visible to the supervisor, hence to Druid SQL, only after checkpoint N
//     completes; a crash neither loses nor duplicates them);
//   * at-least-once (`delivery: at-least-once`, or no checkpoints): the KafkaSink. The choice
//     and the refusal of `delivery: exactly-once` without checkpoints: ../sink-delivery.ts.
// The runtime never reads DruidDatasources: the operator resolves `datasourceRef` into
// `kafka: {brokers, topic}` and `timestamp: {column, format}` in the JobConfig's graph.
//
// Timestamp column: Druid drops rows without a parseable timestamp, so every row gets the
// datasource's column when it lacks it: `window_start` when the row is a window result
// (Druid buckets by interval start, and a window [start, end) then lands in the bucket of
// its start), else the record's event time. Format millis/posix/micro/nano/auto → a number
// in that unit (auto → millis), iso → an ISO-8601 string.
import { TributaryError } from '../../errors.ts';
import type { DruidSinkSpec, KafkaSinkSpec } from '../../graph/spec.ts';
import type { Batch } from '../../core/batch.ts';
import type { Rec } from '../../core/record.ts';
import type { CloseOutcome, SinkWriter, SinkWriterContext } from '../api.ts';
import { KafkaSink } from '../kafka/kafka-sink.ts';
import { TransactionalKafkaSink } from '../kafka/transactional-sink.ts';

export const DEFAULT_TIMESTAMP_COLUMN = '__time_ms';

/** The Kafka sink spec behind a resolved druid sink. */
export function druidKafkaSpec(sinkName: string, spec: DruidSinkSpec): KafkaSinkSpec {
  if (!spec.kafka) {
    throw new TributaryError(
      'TRIB_CONNECTOR_UNSUPPORTED',
      `sink "${sinkName}": druid.datasourceRef "${spec.datasourceRef}" is not resolved (no druid.kafka); the operator fills it from the DruidDatasource, for tributary run write druid: {datasourceRef, kafka: {brokers, topic}}`,
    );
  }
  return {
    brokers: spec.kafka.brokers,
    topic: spec.kafka.topic,
    format: 'json',
    ...(spec.transactionalIdPrefix ? { transactionalIdPrefix: spec.transactionalIdPrefix } : {}),
  };
}

export function timestampValue(ms: number, format: NonNullable<DruidSinkSpec['timestamp']>['format']): number | string {
  switch (format) {
    case 'iso':
      return new Date(ms).toISOString();
    case 'posix':
      return Math.floor(ms / 1000);
    case 'micro':
      return ms * 1000;
    case 'nano':
      return ms * 1_000_000;
    default:
      return ms;
  }
}

/** The row written for a record: the record, plus the timestamp column when it lacks one. */
export function druidRow(
  rec: Rec,
  ts: number,
  column: string,
  format: NonNullable<DruidSinkSpec['timestamp']>['format'],
): Rec {
  if (rec[column] !== undefined && rec[column] !== null) return rec;
  const ws = rec['window_start'];
  const ms = typeof ws === 'number' && Number.isFinite(ws) ? ws : ts;
  return { ...rec, [column]: timestampValue(ms, format) };
}

export class DruidSink implements SinkWriter {
  private readonly inner: SinkWriter;
  private readonly column: string;
  private readonly format: NonNullable<DruidSinkSpec['timestamp']>['format'];
  private readonly batch: Batch = { recs: [], ts: [], keys: [], kgs: [], n: 0 };
  readonly notifyCheckpointComplete?: (checkpointId: number) => Promise<void>;

  constructor(sinkName: string, spec: DruidSinkSpec, opts: { exactlyOnce: boolean }) {
    const kafka = druidKafkaSpec(sinkName, spec);
    this.inner = opts.exactlyOnce ? new TransactionalKafkaSink(kafka) : new KafkaSink(kafka);
    this.column = spec.timestamp?.column ?? DEFAULT_TIMESTAMP_COLUMN;
    this.format = spec.timestamp?.format;
    // Both inner sinks flush at the barrier (preCommit, below); only the transactional one commits on completion.
    const inner = this.inner;
    if (inner.notifyCheckpointComplete)
      this.notifyCheckpointComplete = (id) => (inner.notifyCheckpointComplete as (id: number) => Promise<void>)(id);
  }

  open(ctx: SinkWriterContext): Promise<void> {
    return this.inner.open(ctx);
  }

  get backpressured(): boolean {
    return this.inner.backpressured;
  }

  write(b: Batch): void {
    // The inner sink serializes synchronously in write(), so one reused batch is enough.
    const out = this.batch;
    out.recs.length = 0;
    out.ts.length = 0;
    for (let i = 0; i < b.n; i++) {
      const ts = b.ts[i] as number;
      out.recs.push(druidRow(b.recs[i] as Rec, ts, this.column, this.format));
      out.ts.push(ts);
    }
    out.n = b.n;
    this.inner.write(out);
  }

  /**
   * Whichever the inner sink: exactly-once pre-commits its transaction, at-least-once awaits the
   * acknowledgement of every row written before the barrier (committables `[]`).
   */
  preCommit(checkpointId: number): Promise<readonly unknown[]> {
    return this.inner.preCommit?.(checkpointId) ?? Promise.resolve([]);
  }

  close(outcome?: CloseOutcome): Promise<void> {
    return this.inner.close(outcome);
  }
}
