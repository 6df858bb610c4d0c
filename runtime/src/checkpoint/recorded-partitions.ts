// The Kafka partitions a checkpoint's source positions list, with the slot that read each: what a live
// rescale plans from (rescale/plan.ts) and what the unread-partition alarm compares the topic with
// (exec/unowned-partitions.ts). Only unbounded Kafka sources record per-partition offsets.
import type { SourceSpec } from '../graph/spec.ts';
import type { CheckpointMetadata } from './metadata.ts';

export interface SourcePartition {
  /** The source's name in the graph. */
  source: string;
  topic: string;
  partition: number;
  /** The slot that reads it now. */
  owner: number;
}

/** Partitions and their owners as checkpoint `m` lists them (an unbounded Kafka source's positions). */
export function partitionsOf(
  m: Pick<CheckpointMetadata, 'sources'>,
  sources: readonly SourceSpec[],
): SourcePartition[] {
  const out: SourcePartition[] = [];
  for (const spec of sources) {
    const topic = spec.kafka?.topic;
    if (topic === undefined) continue;
    for (const { slot, position } of m.sources[spec.name] ?? []) {
      const offsets = (position as { offsets?: Record<string, string> } | undefined)?.offsets ?? {};
      for (const p of Object.keys(offsets)) out.push({ source: spec.name, topic, partition: Number(p), owner: slot });
    }
  }
  return out;
}
