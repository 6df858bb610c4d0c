// Source and sink factories by connector kind.
import { TributaryError } from '../errors.ts';
import type { SinkSpec, SourceSpec } from '../graph/spec.ts';
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
}

export function createSourceReader(spec: SourceSpec, env: ConnectorEnv): SourceReader {
  if (spec.datagen) return new DatagenSource(spec.datagen, env.jobStartTime);
  if (spec.collection) return new CollectionSource(spec.collection);
  if (spec.file) return new FileSource(spec.file);
  if (spec.kafka) return new KafkaSource(spec.kafka, { keepBytes: env.passThrough === true });
  if (spec.druid) return new DruidSqlSource(spec.name, spec.druid);
  if (spec.kudu) return new KuduSource(spec.name, spec.kudu);
  throw new TributaryError('TRIB_CONNECTOR_UNSUPPORTED', `source "${spec.name}": no connector`);
}

/**
 * `checkpointing`: the job takes checkpoints, so sinks that can commit on checkpoints do
 * (sink-delivery.ts decides; a job refused `delivery: exactly-once` without checkpoints before
 * any writer is built, so none is ever downgraded silently).
 */
export function createSinkWriter(spec: SinkSpec, opts: { checkpointing?: boolean } = {}): SinkWriter {
  const exactlyOnce = deliveryOf(spec, opts.checkpointing === true) === 'exactly-once';
  if (spec.console !== undefined) return new ConsoleSink(spec.console, spec.name);
  if (spec.file) return new FileSink(spec.file);
  if (spec.kafka) return exactlyOnce ? new TransactionalKafkaSink(spec.kafka) : new KafkaSink(spec.kafka);
  if (spec.druid) return new DruidSink(spec.name, spec.druid, { exactlyOnce });
  if (spec.kudu) return new KuduSink(spec.name, spec.kudu);
  throw new TributaryError('TRIB_CONNECTOR_UNSUPPORTED', `sink "${spec.name}": no connector`);
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
