// Whether a replicas-only change may run as a live rescale (spec.rescale.mode live): the running
// slots move key groups and Kafka partitions among themselves, so every source must be one whose
// split follows the slots' assignment, not the parallelism itself. Index sources (datagen,
// collection, file) stripe their records by parallelism, Kudu scans its tablets per slot, Druid
// queries once on slot 0, and a bounded Kafka source ends: none of them can change slot count
// mid-stream. Checkpointing must run (a failure mid-migration restores the last checkpoint at the
// new parallelism), and maxParallelism bounds the slots. Event time is no blocker: a moved partition
// carries its watermark between slot pods (runtime/src/rescale/floors-across.ts). Pure.
import type { StreamJobSpec } from '../../../api/v1alpha1/streamjob.ts';
import { parseDuration } from '../../../../../runtime/src/graph/duration.ts';

/** The rescale mode the spec asks for (the CRD's default: savepoint). */
export function rescaleModeOf(spec: StreamJobSpec): 'live' | 'savepoint' {
  return spec.rescale?.mode === 'live' ? 'live' : 'savepoint';
}

const CONNECTORS = ['kafka', 'datagen', 'file', 'collection', 'druid', 'kudu'] as const;

/** Why `spec` cannot rescale live to `to` slots; undefined when it can. */
export function liveRescaleBlocker(spec: StreamJobSpec, to: number): string | undefined {
  if (spec.job !== undefined || !spec.graph) return 'an application-mode job: the operator cannot see its sources';
  const interval = parseDuration(spec.checkpointing?.interval ?? '10s');
  if (interval === undefined || interval <= 0) return 'checkpointing is off';
  if (to > spec.maxParallelism) return `replicas ${to} is above maxParallelism ${spec.maxParallelism}`;
  for (const src of spec.graph.sources ?? []) {
    const connector = CONNECTORS.find((k) => (src as unknown as Record<string, unknown>)[k] !== undefined) ?? 'unknown';
    if (connector !== 'kafka') return `source ${src.name} is a ${connector} source (${WHY[connector]})`;
    if (src.kafka?.bounded !== undefined) return `source ${src.name} is a bounded Kafka source (it ends)`;
  }
  return undefined;
}

const WHY: Record<(typeof CONNECTORS)[number] | 'unknown', string> = {
  kafka: '',
  datagen: 'it stripes its records by parallelism',
  file: 'it stripes its lines by parallelism',
  collection: 'it stripes its records by parallelism',
  druid: 'slot 0 queries it once',
  kudu: 'it scans its tablets per slot',
  unknown: 'not one the operator knows',
};
