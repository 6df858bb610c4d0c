// Source and sink factories by connector kind.
import { TributaryError } from '../errors.ts';
import type { SinkSpec, SourceSpec } from '../graph/spec.ts';
import type { SinkWriter, SourceReader } from './api.ts';
import { CollectionSource } from './collection/collection-source.ts';
import { ConsoleSink } from './console/console-sink.ts';
import { DatagenSource } from './datagen/datagen-source.ts';
import { FileSink } from './file/file-sink.ts';
import { FileSource } from './file/file-source.ts';
import { KafkaSink } from './kafka/kafka-sink.ts';
import { KafkaSource } from './kafka/kafka-source.ts';
import { TransactionalKafkaSink } from './kafka/transactional-sink.ts';

export interface ConnectorEnv {
  jobStartTime: number;
}

export function createSourceReader(spec: SourceSpec, env: ConnectorEnv): SourceReader {
  if (spec.datagen) return new DatagenSource(spec.datagen, env.jobStartTime);
  if (spec.collection) return new CollectionSource(spec.collection);
  if (spec.file) return new FileSource(spec.file);
  if (spec.kafka) return new KafkaSource(spec.kafka);
  if (spec.druid) {
    throw new TributaryError('TRIB_CONNECTOR_UNSUPPORTED', `source "${spec.name}": the druid source is validated but not executable yet (it arrives with the Druid connector issue)`);
  }
  throw new TributaryError('TRIB_CONNECTOR_UNSUPPORTED', `source "${spec.name}": no connector`);
}

/** `checkpointing`: the job takes checkpoints, so sinks that can commit on checkpoints do (Kafka exactly-once by default). */
export function createSinkWriter(spec: SinkSpec, opts: { checkpointing?: boolean } = {}): SinkWriter {
  if (spec.console !== undefined) return new ConsoleSink(spec.console, spec.name);
  if (spec.file) return new FileSink(spec.file);
  if (spec.kafka) return opts.checkpointing && spec.kafka.delivery !== 'at-least-once' ? new TransactionalKafkaSink(spec.kafka) : new KafkaSink(spec.kafka);
  if (spec.druid) {
    throw new TributaryError('TRIB_CONNECTOR_UNSUPPORTED', `sink "${spec.name}": the druid sink is validated but not executable yet (it arrives with the Druid connector issue)`);
  }
  throw new TributaryError('TRIB_CONNECTOR_UNSUPPORTED', `sink "${spec.name}": no connector`);
}

/** Fails before anything starts when a graph uses a connector this runtime cannot run. */
export function checkExecutable(specs: { sources: SourceSpec[]; sinks: SinkSpec[] }, graphPath = 'graph'): void {
  specs.sources.forEach((s, i) => {
    if (s.druid) throw new TributaryError('TRIB_CONNECTOR_UNSUPPORTED', `${graphPath}.sources[${i}].druid: the druid source is not executable yet (validated only; it arrives with the Druid connector issue)`, { path: `${graphPath}.sources[${i}].druid` });
  });
  specs.sinks.forEach((s, i) => {
    if (s.druid) throw new TributaryError('TRIB_CONNECTOR_UNSUPPORTED', `${graphPath}.sinks[${i}].druid: the druid sink is not executable yet (validated only; it arrives with the Druid connector issue)`, { path: `${graphPath}.sinks[${i}].druid` });
  });
}
