// Which slot reads a Kafka partition: a pure function of (topic, partition, parallelism), shared
// by the source (kafka-source.ts takes the partitions it owns), the restore (every new slot takes
// its own from the union of old offsets) and the live-rescale planner (rescale/plan.ts: the
// target owners at the new parallelism), so all three always agree. No kafkajs here: the
// planner imports it without the client.

/** Java's String.hashCode, for Flink's KafkaSourceEnumerator owner formula. */
function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * Deterministic partition → slot assignment (Flink's KafkaSourceEnumerator.getSplitOwner):
 * start = ((hash(topic) · 31) & 0x7FFFFFFF) mod p; owner(partition) = (start + partition) mod p.
 */
export function partitionOwner(topic: string, partition: number, parallelism: number): number {
  const start = (Math.imul(javaStringHash(topic), 31) & 0x7fffffff) % parallelism;
  return (start + partition) % parallelism;
}
