// How a dead letter names its record's origin (core/origin.ts) in JSON, the form every sink
// writes: the source, topic, partition and offset, and the original key, value and headers,
// whose bytes are base64 (`encoding`), since a Kafka record's bytes need not be UTF-8. The
// offset is a string: a Kafka offset is a 64-bit integer, beyond a JSON number's exact range.
import type { DeadLetterOrigin, RecordOrigin } from '../core/origin.ts';

const b64 = (b: Uint8Array | null): string | null =>
  b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

export function deadLetterOrigin(o: RecordOrigin): DeadLetterOrigin {
  return {
    source: o.from.source,
    topic: o.from.topic,
    partition: o.partition,
    offset: o.offset.toString(),
    encoding: 'base64',
    key: b64(o.key),
    value: b64(o.value),
    headers: o.from.headerList(o.headers).map((h) => ({ key: h.key, value: b64(h.value) })),
  };
}
