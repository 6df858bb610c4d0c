// kafkajs's fetches decode records with the replacement once any Kafka module is loaded, and it
// returns what kafkajs's own decoder returns (every field, same values, the decoder's position
// after the record): records as kafkajs's encoder writes them with null, empty, binary and
// multi-byte keys and values, negative and large deltas, a log-append-time batch, a control
// batch; and records off its fast path (headers, offsets beyond safe integers, truncated bytes)
// get the original's result or error.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import './client.ts';
import {
  decodeRecord,
  originalRecordDecoder,
  recordDecoderPatched,
  type KafkajsDecoder,
} from './kafkajs-record-decoder.ts';
import { originalRecordEncoder } from './kafkajs-record-encoder.ts';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => KafkajsDecoder;
const original = originalRecordDecoder as NonNullable<typeof originalRecordDecoder>;
const encode = originalRecordEncoder as NonNullable<typeof originalRecordEncoder>;

/** The record's bytes as the batch decoder hands them over: without the length prefix. */
function recordBytes(args: Parameters<typeof encode>[0]): Buffer {
  const d = new Decoder(encode(args).buffer);
  const len = (d as unknown as { readVarInt(): number }).readVarInt();
  return d.buffer.subarray(d.offset, d.offset + len);
}

/** Each decoder's result (or error) and its position after the record. */
function both(bytes: Buffer, ctx: Record<string, unknown>): [unknown, unknown] {
  const run = (f: typeof original): unknown => {
    const d = new Decoder(bytes);
    try {
      const r = f(d, ctx);
      expect(r.batchContext).toBe(ctx);
      const hex = (b: Buffer | null): string | null => (b === null ? null : b.toString('hex'));
      return { rec: { ...r, key: hex(r.key), value: hex(r.value), batchContext: undefined }, at: d.offset };
    } catch (e) {
      return { error: (e as Error).message };
    }
  };
  return [run(decodeRecord), run(original)];
}

const ctx = (o: Record<string, unknown> = {}): Record<string, unknown> => ({
  firstOffset: '1000',
  firstTimestamp: '1700000000000',
  maxTimestamp: '1700000005000',
  magicByte: 2,
  isControlBatch: false,
  timestampType: 0,
  producerId: '-1',
  inTransaction: false,
  ...o,
});

describe('kafkajs record decoder replacement', () => {
  it('is what kafkajs record batches load', () => {
    expect(recordDecoderPatched).toBe(true);
    expect(require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js')).toBe(decodeRecord);
    expect(original).not.toBe(decodeRecord);
  });

  it('returns what kafkajs returns', () => {
    const keys = [null, '', 'k', 'ключ', Buffer.from([0, 255, 7])];
    const values = [null, '', '{"a":1}', 'é€😀', 'w'.repeat(300)];
    const tsDeltas = [0, 1, -1, 64, -65, 8192, 1_000_000_000, -1_600_000_000_000, 2 ** 47];
    const offDeltas = [0, 1, 64, 1999, 100_000];
    const contexts = [
      ctx(),
      ctx({ firstOffset: '0', firstTimestamp: '0' }),
      ctx({ timestampType: 1 }),
      ctx({ isControlBatch: true, inTransaction: true, producerId: '42' }),
      ctx({ firstOffset: '9007199254740000' }),
    ];
    let checked = 0;
    for (const key of keys)
      for (const value of values)
        for (const timestampDelta of tsDeltas)
          for (const offsetDelta of offDeltas) {
            const bytes = recordBytes({ key, value, timestampDelta, offsetDelta });
            for (const c of contexts) {
              const [mine, theirs] = both(bytes, c);
              expect(mine).toEqual(theirs);
              checked++;
            }
          }
    expect(checked).toBe(keys.length * values.length * tsDeltas.length * offDeltas.length * contexts.length);
  });

  it('hands records off its fast path to kafkajs', () => {
    const plain = recordBytes({ key: 'k', value: 'v', timestampDelta: 5, offsetDelta: 3 });
    const cases: [Buffer, Record<string, unknown>][] = [
      [recordBytes({ key: 'k', value: 'v', headers: { trace: 'abc', many: ['1', '2'] } }), ctx()],
      [plain, ctx({ firstOffset: '9223372036854775000' })],
      [plain, ctx({ firstTimestamp: '9223372036854775000' })],
      [recordBytes({ key: 'k', value: 'v', timestampDelta: 2 ** 52 }), ctx()],
      [plain.subarray(0, 4), ctx()],
    ];
    for (const [bytes, c] of cases) {
      const [mine, theirs] = both(bytes, c);
      expect(mine).toEqual(theirs);
    }
    const [mine] = both(plain, ctx({ firstOffset: '9223372036854775000' }));
    expect((mine as { rec: { offset: string } }).rec.offset).toBe('9223372036854775003');
  });
});
