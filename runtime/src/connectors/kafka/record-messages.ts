// How a batch of records becomes Kafka messages, shared by the at-least-once and the
// transactional sink so both write byte-identical messages.
import type { Message } from 'kafkajs';
import type { CompiledExpr } from '../../expr/cel.ts';
import type { Batch } from '../../core/batch.ts';
import { TributaryError } from '../../errors.ts';
import { sourceBytes } from '../record-format.ts';
import { originOfDeadLetter } from '../../core/origin.ts';
import { deadLetterMessage } from './dead-letter-message.ts';
import { jsonText } from '../../core/json-text.ts';

/** A message's value: the record as JSON, its `value` field (`format: string`), or the bytes a function makes. */
export type MessageValue = 'json' | 'string' | ((rec: Record<string, unknown>) => Buffer);

/**
 * Appends one message per record to `out`: the value is the record as JSON (or its `value`
 * field for `format: string`, or what `value` makes of it for a registry format), or, for a
 * json record that carries its source bytes (a Kafka json source's record passed through
 * unchanged, graph/pass-through.ts), those bytes as they are;
 * the timestamp is its event time, the key the `key` expression's result (with `keyBytes`, a
 * registry `keyFormat`, the bytes it makes of the record: registry-encoding.ts). A dead letter that
 * still holds its origin gets the original headers, and the original key when the sink has no
 * `key` (dead-letter-message.ts). The sink's key check (exec/operator-factory.ts sinkInput)
 * lets no record through that its key fails on, so a failure here throws (the job fails)
 * rather than writing the record under another key.
 */
export function appendMessages(
  b: Batch,
  out: Message[],
  as: MessageValue,
  key: CompiledExpr | undefined,
  keyBytes?: (rec: Record<string, unknown>) => Buffer | null,
): void {
  for (let i = 0; i < b.n; i++) {
    const rec = b.recs[i] as Record<string, unknown>;
    const value =
      typeof as === 'function'
        ? as(rec)
        : as === 'string'
          ? String(rec['value'] ?? '')
          : (sourceBytes(rec) ?? jsonText(rec));
    let k: string | Buffer | null = null;
    if (keyBytes) k = keyBytes(rec);
    else if (key) {
      let v: unknown;
      try {
        v = key.evaluate(rec);
      } catch (e) {
        throw new TributaryError(
          'TRIB_INVARIANT',
          `key ${JSON.stringify(key.source)} failed in the writer, past the sink's key check: ${(e as Error).message}`,
          { cause: e },
        );
      }
      k = v === null || v === undefined ? null : typeof v === 'string' ? v : jsonText(v);
    }
    const origin = originOfDeadLetter(rec);
    if (origin === undefined) out.push({ key: k, value, timestamp: String(b.ts[i]) });
    else {
      const dl = deadLetterMessage(rec, origin);
      out.push({ key: key ? k : (dl.key ?? null), value, timestamp: String(b.ts[i]), headers: dl.headers });
    }
  }
}

/**
 * Kafka request size budget per send. kafkajs puts every message of a send for one partition
 * into one record batch, and the broker refuses a batch over the topic's max.message.bytes
 * (default 1 MiB) with MESSAGE_TOO_LARGE; unlike the Java producer it does not split. A
 * burst of output (many windows firing at once, e.g. on a watermark jump after a restore)
 * would otherwise fail the job on every restart.
 */
export const MAX_SEND_BYTES = 512 * 1024;
/** Per-message overhead of the record format (varints, attributes, deltas), rounded up. */
const MESSAGE_OVERHEAD = 24;

/** Encoded key + value bytes of a message (what the sink's byte metrics count). */
export function payloadBytes(m: Message): number {
  let n = 0;
  if (m.key) n += typeof m.key === 'string' ? Buffer.byteLength(m.key) : m.key.length;
  if (m.value) n += typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length;
  return n;
}

function sizeOf(m: Message): number {
  let n = MESSAGE_OVERHEAD + payloadBytes(m);
  if (m.headers)
    for (const [k, v] of Object.entries(m.headers))
      n += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : Buffer.isBuffer(v) ? v.length : 16);
  return n;
}

/**
 * Splits messages, in order, into sends of at most `maxCount` messages and about `maxBytes` each (a single larger
 * message goes alone).
 */
export function splitForSend(messages: Message[], maxCount: number, maxBytes: number = MAX_SEND_BYTES): Message[][] {
  const out: Message[][] = [];
  let cur: Message[] = [];
  let bytes = 0;
  for (const m of messages) {
    const n = sizeOf(m);
    if (cur.length > 0 && (cur.length >= maxCount || bytes + n > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(m);
    bytes += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/**
 * What failed in a send, for the sink's error: the broker's refusal of a batch over the topic's
 * max.message.bytes (MESSAGE_TOO_LARGE) names the largest record of the send, its size and its
 * key, since a record that alone exceeds the limit fails every replay until it or the topic's
 * limit changes; any other failure is passed through as is.
 */
export function describeSendFailure(err: unknown, chunk: readonly Message[]): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  if ((e as { type?: unknown }).type !== 'MESSAGE_TOO_LARGE' || chunk.length === 0) return e;
  let big = chunk[0] as Message;
  for (const m of chunk) if (sizeOf(m) > sizeOf(big)) big = m;
  const key = big.key === null || big.key === undefined ? 'no key' : `key ${JSON.stringify(String(big.key))}`;
  const value = typeof big.value === 'string' ? big.value : (big.value?.toString() ?? '');
  const head = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  return new Error(
    `${e.message}: the send's largest record is ${payloadBytes(big)} bytes (${key}, value ${head}) of ${chunk.length} record(s); raise the topic's max.message.bytes or make the record smaller`,
    { cause: e },
  );
}
