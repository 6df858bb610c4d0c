// What a Kafka source slot does with one fetch, in its own thread whichever thread fetched:
// records from the next expected offset on are queued (those below it were fetched before a
// seek took effect, or again after one), and the offsets the fetch covered beyond its last
// record (transaction markers, aborted records) are consumed too, as one skipped entry, so a
// bounded read sees its end passed. Only this decides the next offset a replaced consumer
// seeks to, so nothing is read twice or skipped. Headers are kept (`keepHeaders`) only for a
// source with a dead-letter topic: a record that never fails costs nothing more otherwise.
import type { FetchedRecords } from './fetched-records.ts';
import type { PartitionOffsets } from './partition-offsets.ts';
import type { PartitionQueues } from './partition-queues.ts';

export function takeInFetch(
  queues: PartitionQueues,
  offsets: PartitionOffsets,
  partition: number,
  highWatermark: bigint,
  lastOffset: bigint | null,
  records: FetchedRecords,
  keepHeaders = false,
): void {
  offsets.setHighWatermark(partition, highWatermark);
  let next = offsets.accepted(partition) ?? 0n;
  for (let i = 0; i < records.length; i++) {
    const offset = records.offset(i);
    if (offset < next) continue;
    next = offset + 1n;
    const headers = keepHeaders ? records.headers(i) : undefined;
    queues.enqueue({ partition, offset, key: records.key(i), value: records.value(i), headers });
  }
  // lastOffset is null for a fetch with no raw record at all: nothing beyond is consumed.
  if (lastOffset !== null && lastOffset >= next) {
    queues.enqueue({ partition, offset: lastOffset, key: null, value: null, skipped: true });
    next = lastOffset + 1n;
  }
  offsets.setAccepted(partition, next);
}
