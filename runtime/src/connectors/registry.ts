// Source and sink factories by connector kind: one table per role, keyed by every kind the
// graph spec declares (SOURCE_KINDS, SINK_KINDS in graph/spec.ts), so a kind without a factory
// does not compile. A validated graph names exactly one kind per source and sink.
import type { Registry } from 'prom-client';
import { TributaryError } from '../errors.ts';
import {
  SINK_KINDS,
  SOURCE_KINDS,
  type SinkKind,
  type SinkSpec,
  type SourceKind,
  type SourceSpec,
} from '../graph/spec.ts';
import type { SinkWriter, SourceReader } from './api.ts';
import { CollectionSource } from './collection/collection-source.ts';
import { ConsoleSink } from './console/console-sink.ts';
import { DatagenSource } from './datagen/datagen-source.ts';
import { DruidSink } from './druid/druid-sink.ts';
import { DruidSqlSource } from './druid/druid-source.ts';
import { FileSink } from './file/file-sink.ts';
import { FileSource } from './file/file-source.ts';
import { KafkaSink } from './kafka/kafka-sink.ts';
import { KafkaSource } from './kafka/kafka-source.ts';
import { TransactionalKafkaSink } from './kafka/transactional-sink.ts';
import { KuduSink } from './kudu/kudu-sink.ts';
import { KuduSource } from './kudu/kudu-source.ts';
import { deliveryOf } from './sink-delivery.ts';

export interface ConnectorEnv {
  jobStartTime: number;
  /** The source's records may carry their source bytes to a sink (graph/pass-through.ts). */
  passThrough?: boolean;
  /** The job has an errorOutput: records carry their origin for its dead letters (core/origin.ts). */
  origins?: boolean;
  /** The job's metrics registry (a source's schema registry client counts its calls there). */
  metrics?: Registry;
}

type SourceFactory<K extends SourceKind> = (
  config: NonNullable<SourceSpec[K]>,
  spec: SourceSpec,
  env: ConnectorEnv,
) => SourceReader;

const SOURCES: { readonly [K in SourceKind]: SourceFactory<K> } = {
  kafka: (c, _s, env) =>
    new KafkaSource(c, { keepBytes: env.passThrough === true, origins: env.origins === true, metrics: env.metrics }),
  datagen: (c, _s, env) => new DatagenSource(c, env.jobStartTime),
  file: (c) => new FileSource(c),
  collection: (c) => new CollectionSource(c),
  druid: (c, s) => new DruidSqlSource(s.name, c),
  kudu: (c, s) => new KuduSource(s.name, c),
};

function buildSource<K extends SourceKind>(kind: K, spec: SourceSpec, env: ConnectorEnv): SourceReader {
  return SOURCES[kind](spec[kind] as NonNullable<SourceSpec[K]>, spec, env);
}

export function createSourceReader(spec: SourceSpec, env: ConnectorEnv): SourceReader {
  const kind = SOURCE_KINDS.find((k) => spec[k] !== undefined);
  if (kind === undefined) throw new TributaryError('TRIB_CONNECTOR_UNSUPPORTED', `source "${spec.name}": no connector`);
  return buildSource(kind, spec, env);
}

type SinkFactory<K extends SinkKind> = (
  config: NonNullable<SinkSpec[K]>,
  spec: SinkSpec,
  opts: { exactlyOnce: boolean },
) => SinkWriter;

const SINKS: { readonly [K in SinkKind]: SinkFactory<K> } = {
  kafka: (c, _s, o) => (o.exactlyOnce ? new TransactionalKafkaSink(c) : new KafkaSink(c)),
  console: (c, s) => new ConsoleSink(c, s.name),
  file: (c) => new FileSink(c),
  druid: (c, s, o) => new DruidSink(s.name, c, { exactlyOnce: o.exactlyOnce }),
  kudu: (c, s) => new KuduSink(s.name, c),
};

function buildSink<K extends SinkKind>(kind: K, spec: SinkSpec, opts: { exactlyOnce: boolean }): SinkWriter {
  return SINKS[kind](spec[kind] as NonNullable<SinkSpec[K]>, spec, opts);
}

/**
 * `checkpointing`: the job takes checkpoints, so sinks that can commit on checkpoints do
 * (sink-delivery.ts decides; a job refused `delivery: exactly-once` without checkpoints before
 * any writer is built, so none is ever downgraded silently).
 */
export function createSinkWriter(spec: SinkSpec, opts: { checkpointing?: boolean } = {}): SinkWriter {
  const exactlyOnce = deliveryOf(spec, opts.checkpointing === true) === 'exactly-once';
  const kind = SINK_KINDS.find((k) => spec[k] !== undefined);
  if (kind === undefined) throw new TributaryError('TRIB_CONNECTOR_UNSUPPORTED', `sink "${spec.name}": no connector`);
  return buildSink(kind, spec, { exactlyOnce });
}

/** Fails before anything starts when a graph uses a connector this runtime cannot run. */
export function checkExecutable(specs: { sources: SourceSpec[]; sinks: SinkSpec[] }, graphPath = 'graph'): void {
  specs.sinks.forEach((s, i) => {
    if (s.druid && !s.druid.kafka) {
      throw new TributaryError(
        'TRIB_CONNECTOR_UNSUPPORTED',
        `${graphPath}.sinks[${i}].druid.kafka: datasourceRef "${s.druid.datasourceRef}" is not resolved; the operator fills druid.kafka {brokers, topic} from the DruidDatasource, with tributary run write it inline`,
        { path: `${graphPath}.sinks[${i}].druid.kafka` },
      );
    }
  });
}
