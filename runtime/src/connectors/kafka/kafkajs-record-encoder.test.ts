// kafkajs's produce requests encode records with the replacement once any Kafka module is
// loaded, and the replacement writes exactly the bytes kafkajs's own encoder writes, over the
// inputs its producers pass: string and Buffer keys and values (multi-byte UTF-8, empty, null),
// timestamp deltas of any sign and size, offset deltas past one varint byte; and inputs off its
// fast path (headers, deltas that are not safe integers) get the original's bytes or error.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import './client.ts';
import { encodeRecord, originalRecordEncoder, recordEncoderPatched } from './kafkajs-record-encoder.ts';

const require = createRequire(import.meta.url);
const original = originalRecordEncoder as NonNullable<typeof originalRecordEncoder>;

const bytes = (e: { buffer: Buffer }): string => e.buffer.toString('hex');
/** The bytes an encoder writes, or the error it throws. */
function outcome(encode: () => { buffer: Buffer }): string {
  try {
    return bytes(encode());
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

describe('kafkajs record encoder replacement', () => {
  it('is what kafkajs produce requests load', () => {
    expect(recordEncoderPatched).toBe(true);
    expect(require('kafkajs/src/protocol/recordBatch/record/v0/index.js')).toBe(encodeRecord);
    expect(original).not.toBe(encodeRecord);
  });

  it('writes the bytes kafkajs writes', () => {
    const keys = [null, undefined, '', 'k', '1234', 'ключ', Buffer.from([0, 255, 7]), 'x'.repeat(200)];
    const values = [
      null,
      '',
      '{"a":1}',
      'é€😀',
      Buffer.from('{"auction":1000,"price":17}'),
      'v'.repeat(70),
      'w'.repeat(20_000),
    ];
    const tsDeltas = [
      0,
      1,
      -1,
      63,
      64,
      -64,
      -65,
      127,
      128,
      8191,
      8192,
      1_700_000_000_000,
      -1_700_000_000_000,
      2 ** 53 - 1,
    ];
    const offDeltas = [0, 1, 63, 64, 1999, 100_000];
    let checked = 0;
    for (const key of keys)
      for (const value of values)
        for (const timestampDelta of tsDeltas)
          for (const offsetDelta of offDeltas) {
            const args = { key, value, timestampDelta, offsetDelta };
            expect(bytes(encodeRecord(args)), JSON.stringify(args).slice(0, 200)).toBe(bytes(original(args)));
            checked++;
          }
    expect(checked).toBe(keys.length * values.length * tsDeltas.length * offDeltas.length);
    expect(bytes(encodeRecord({ value: 'only a value' }))).toBe(bytes(original({ value: 'only a value' })));
    expect(bytes(encodeRecord({ value: 'v', headers: {} }))).toBe(bytes(original({ value: 'v', headers: {} })));
  });

  it('hands inputs off its fast path to kafkajs', () => {
    for (const args of [
      { key: 'k', value: 'v', headers: { trace: 'abc', many: ['1', '2'] } },
      { key: 'k', value: 'v', timestampDelta: 1.5 },
      { key: 'k', value: 'v', timestampDelta: 2 ** 60 },
    ])
      expect(outcome(() => encodeRecord(args))).toBe(outcome(() => original(args)));
    expect(outcome(() => encodeRecord({ key: 'k', value: 'v', timestampDelta: 1.5 }))).toMatch(/^error: /);
  });
});
