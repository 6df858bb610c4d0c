// A step's or a sink's dead letter (operators/record-errors.ts) written by a Kafka sink, when it
// holds its record's origin (core/origin.ts: as made, or rebuilt from its JSON after a data plane):
// the Kafka record gets the original record's key and headers, as the source's own dead-letter
// topic writes them (dead-letter.ts), then ours naming the error and the origin, with the same
// names (tributary.error.*, tributary.source.*). The value stays the JSON envelope
// {step, error, code?, record, origin}: the failing step's input, which after a map is not the
// original value; `origin.value` holds that (base64). The sink's own `key` expression, when it
// has one, still decides the key.
import type { Message } from 'kafkajs';
import type { RecordOrigin } from '../../core/origin.ts';
import { withOurHeaders } from './original-headers.ts';

const asKey = (k: Uint8Array | null): Buffer | null =>
  k === null ? null : Buffer.isBuffer(k) ? k : Buffer.from(k.buffer, k.byteOffset, k.byteLength);

/** The key and headers of a dead letter's Kafka record; `rec` is the envelope. */
export function deadLetterMessage(
  rec: Readonly<Record<string, unknown>>,
  o: RecordOrigin,
): Pick<Message, 'key' | 'headers'> {
  const code = rec['code'];
  const ours: Record<string, string> = {
    'tributary.error.reason': 'step',
    'tributary.error.message': String(rec['error']),
    'tributary.error.step': String(rec['step']),
    ...(typeof code === 'string' ? { 'tributary.error.code': code } : {}),
    'tributary.source.topic': o.from.topic,
    'tributary.source.partition': String(o.partition),
    'tributary.source.offset': o.offset.toString(),
    'tributary.source.name': o.from.source,
  };
  return { key: asKey(o.key), headers: withOurHeaders(o.from.headerList(o.headers), ours) };
}
