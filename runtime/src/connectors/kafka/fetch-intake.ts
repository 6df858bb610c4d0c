// What a Kafka source slot does with one fetch, in its own thread whichever thread fetched:
// records from the next expected offset on are queued (those below it were fetched before a
// seek took effect, or again after one; a partition the slot no longer owns takes nothing), and
// the offsets the fetch covered beyond its last record (transaction markers, aborted records)
// are consumed too, as one skipped entry, so a bounded read sees its end passed. Only this
// decides the next offset a replaced consumer seeks to, so nothing is read twice or skipped.
// Headers are kept (`keepHeaders`) only for a source with a dead-letter topic or whose records
// carry their origin (`from`, set only while the job has an errorOutput): a record that never
// fails costs nothing more otherwise.
import type { OriginSource, RecordOrigin } from '../../core/origin.ts';
import type { FetchedRecords } from './fetched-records.ts';
import { headerList, type KeptHeaders } from './original-headers.ts';
import type { PartitionOffsets } from './partition-offsets.ts';
import type { PartitionQueues, Queued } from './partition-queues.ts';

/** What a source keeps of each fetched record beyond its key and value. */
export interface Intake {
  keepHeaders: boolean;
  /** Set while the job has an errorOutput: each queued entry is then its record's origin. */
  from?: OriginSource | undefined;
}

/** A source's intake: headers for its dead-letter topic (`deadLetters`) or for origins (`origins`: its name). */
export function intakeFor(topic: string, deadLetters: boolean, origins: string | undefined): Intake {
  if (origins === undefined) return { keepHeaders: deadLetters };
  const from: OriginSource = { source: origins, topic, headerList: (h) => headerList(h as KeptHeaders | undefined) };
  return { keepHeaders: true, from };
}

/** The origin of the record decoded from `m` (undefined unless taken in with `from`). */
export function originOf(m: Queued): RecordOrigin | undefined {
  return m.from === undefined ? undefined : (m as RecordOrigin);
}

export function takeInFetch(
  queues: PartitionQueues,
  offsets: PartitionOffsets,
  partition: number,
  highWatermark: bigint,
  lastOffset: bigint | null,
  records: FetchedRecords,
  intake: Intake = { keepHeaders: false },
): void {
  // A fetch of a partition handed over since (live rescale) is not this slot's to emit: its old
  // consumer may still deliver one before it stops.
  if (!offsets.owns(partition)) return;
  const { keepHeaders, from } = intake;
  offsets.setHighWatermark(partition, highWatermark);
  let next = offsets.accepted(partition) ?? 0n;
  for (let i = 0; i < records.length; i++) {
    const offset = records.offset(i);
    if (offset < next) continue;
    next = offset + 1n;
    const headers = keepHeaders ? records.headers(i) : undefined;
    queues.enqueue({ partition, offset, key: records.key(i), value: records.value(i), headers, from });
  }
  // lastOffset is null for a fetch with no raw record at all: nothing beyond is consumed.
  if (lastOffset !== null && lastOffset >= next) {
    queues.enqueue({ partition, offset: lastOffset, key: null, value: null, skipped: true });
    next = lastOffset + 1n;
  }
  offsets.setAccepted(partition, next);
}
