// kafkajs's fetches decode records with the replacement once any Kafka module is loaded, and it
// returns exactly what kafkajs's own decoder returns (and leaves the decoder at the same place)
// over record bodies built byte by byte: timestamp deltas of every varlong length up to ten bytes
// and either sign, batch bases past 2^53, sums past 64 bits (kafkajs's Long does not wrap), null and empty keys and
// values, headers with a repeated key, log-append time and control batches; and it refuses an
// eleven-byte varlong as kafkajs does.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import './client.ts';
import {
  decodeRecord,
  originalRecordDecoder,
  recordDecoderPatched,
  type BatchContext,
  type KafkajsDecoder,
} from './kafkajs-record-decoder.ts';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => KafkajsDecoder;
const original = originalRecordDecoder as NonNullable<typeof originalRecordDecoder>;

/** Zig-zag varint of a signed 64-bit value. */
function varlong(v: bigint): number[] {
  let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  const out: number[] = [];
  do {
    const byte = Number(z & 0x7fn);
    z >>= 7n;
    out.push(z > 0n ? byte | 0x80 : byte);
  } while (z > 0n);
  return out;
}
const bytesField = (b: Buffer | null): number[] => (b === null ? varlong(-1n) : [...varlong(BigInt(b.length)), ...b]);

function body(
  tsDelta: bigint,
  offDelta: number,
  key: Buffer | null,
  value: Buffer | null,
  headers: [string, Buffer | null][] = [],
): Buffer {
  const h = headers.flatMap(([k, v]) => [...bytesField(Buffer.from(k)), ...bytesField(v)]);
  return Buffer.from([
    0,
    ...varlong(tsDelta),
    ...varlong(BigInt(offDelta)),
    ...bytesField(key),
    ...bytesField(value),
    ...varlong(BigInt(headers.length)),
    ...h,
    0xee, // a byte after the record: both must stop before it
  ]);
}

/** What a decoder returns and where it leaves the input, or the error it throws. */
function outcome(decode: (d: KafkajsDecoder, c: BatchContext) => unknown, b: Buffer, c: BatchContext): unknown {
  const d = new Decoder(b);
  try {
    return { record: decode(d, c), at: d.offset };
  } catch (e) {
    return { error: (e as Error).name + ': ' + (e as Error).message };
  }
}

describe('kafkajs record decoder replacement', () => {
  it('is what kafkajs fetches load', () => {
    expect(recordDecoderPatched).toBe(true);
    expect(require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js')).toBe(decodeRecord);
    expect(original).not.toBe(decodeRecord);
  });

  it('returns what kafkajs returns', () => {
    const contexts: BatchContext[] = [
      {
        firstOffset: '0',
        firstTimestamp: '1700000000000',
        magicByte: 2,
        timestampType: 0,
        maxTimestamp: '1700000000999',
      },
      { firstOffset: '123456789', firstTimestamp: '-1', magicByte: 2, isControlBatch: true },
      { firstOffset: '9007199254740993', firstTimestamp: '9007199254740990', magicByte: 2 },
      { firstOffset: '9223372036854775807', firstTimestamp: '9223372036854775000', magicByte: 2 },
      { firstOffset: '5', firstTimestamp: '10', magicByte: 2, timestampType: 1, maxTimestamp: '1700000000999' },
    ];
    const tsDeltas = [
      0n,
      1n,
      -1n,
      63n,
      -65n,
      8192n,
      1_700_000_000_000n,
      -(2n ** 48n),
      2n ** 48n,
      2n ** 49n,
      -(2n ** 55n),
      2n ** 62n,
      -(2n ** 63n),
      2n ** 63n - 1n,
    ];
    const offDeltas = [0, 1, 64, 100_000, 2 ** 31 - 1];
    const fields: [Buffer | null, Buffer | null][] = [
      [null, Buffer.from('{"a":1}')],
      [Buffer.from('k'), null],
      [Buffer.alloc(0), Buffer.alloc(0)],
    ];
    let checked = 0;
    for (const c of contexts)
      for (const ts of tsDeltas)
        for (const off of offDeltas)
          for (const [k, v] of fields) {
            const b = body(ts, off, k, v);
            expect(outcome(decodeRecord, b, c), `${JSON.stringify(c)} ${ts} ${off}`).toEqual(outcome(original, b, c));
            checked++;
          }
    expect(checked).toBe(contexts.length * tsDeltas.length * offDeltas.length * fields.length);
    const c = contexts[0] as BatchContext;
    const withHeaders = body(5n, 2, null, Buffer.from('v'), [
      ['trace', Buffer.from('abc')],
      ['many', Buffer.from('1')],
      ['many', Buffer.from('2')],
      ['many', null],
    ]);
    expect(outcome(decodeRecord, withHeaders, c)).toEqual(outcome(original, withHeaders, c));
    expect((outcome(decodeRecord, withHeaders, c) as { record: { headers: object } }).record.headers).toEqual({
      trace: Buffer.from('abc'),
      many: [Buffer.from('1'), Buffer.from('2'), null],
    });
  });

  it('refuses a varlong longer than ten bytes as kafkajs does', () => {
    const b = Buffer.from([0, ...Array<number>(10).fill(0xff), 0x01, 0, 0, 0, 0]);
    const c: BatchContext = { firstOffset: '0', firstTimestamp: '0', magicByte: 2 };
    const got = outcome(decodeRecord, b, c);
    expect(got).toEqual(outcome(original, b, c));
    expect(got).toMatchObject({ error: expect.stringMatching(/Invalid Long, must contain 9 bytes or less/) });
  });
});
