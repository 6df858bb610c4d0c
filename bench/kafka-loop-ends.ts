// Where the bare client loops of the Kafka bench stop: at the end offsets their input had when
// they started (as a `bounded: latest` source does), tracked per partition as batches are copied.
import type { Kafka } from 'kafkajs';

/** The input's end offset per partition now; partitions with no record are left out. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = new Map<number, number>();
    for (const p of await admin.fetchTopicOffsets(topic)) if (Number(p.high) > 0) ends.set(p.partition, Number(p.high));
    return ends;
  } finally {
    await admin.disconnect();
  }
}

/** A batch was copied: its offsets are resolved, and its partition leaves `ends` once it reached its end. */
export function batchCopied(
  ends: Map<number, number>,
  batch: { partition: number; messages: readonly { offset: string }[] },
  resolveOffset: (offset: string) => void,
): void {
  const last = batch.messages.at(-1);
  if (last === undefined) return;
  resolveOffset(last.offset);
  if (Number(last.offset) + 1 >= (ends.get(batch.partition) ?? 0)) ends.delete(batch.partition);
}
