// kafkajs's produce requests encode record batches with the replacement once any Kafka module
// is loaded, and it writes exactly the bytes kafkajs's own RecordBatch writes (CRC included):
// records from either record encoder, empty batches, transactional and idempotent batches with
// int64 fields given as Longs, strings and numbers; compressed batches are kafkajs's.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import './client.ts';
import { encodeRecordBatch, originalRecordBatch, recordBatchEncoderPatched } from './kafkajs-record-batch-encoder.ts';
import { encodeRecord, originalRecordEncoder } from './kafkajs-record-encoder.ts';

const require = createRequire(import.meta.url);
const original = originalRecordBatch as NonNullable<typeof originalRecordBatch>;
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: unknown): unknown };

async function bytes(p: Promise<{ buffer: Buffer; size(): number }>): Promise<string> {
  const e = await p;
  expect(e.size()).toBe(e.buffer.length);
  return e.buffer.toString('hex');
}

describe('kafkajs record batch encoder replacement', () => {
  it('is what kafkajs produce requests load', () => {
    expect(recordBatchEncoderPatched).toBe(true);
    const mod = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: unknown; MAGIC_BYTE: number };
    expect(mod.RecordBatch).toBe(encodeRecordBatch);
    expect(mod.MAGIC_BYTE).toBe(2);
    expect(original).not.toBe(encodeRecordBatch);
  });

  it('writes the bytes kafkajs writes', async () => {
    const records = (n: number, enc: typeof encodeRecord) =>
      Array.from({ length: n }, (_, i) =>
        enc({
          key: i % 3 === 0 ? null : `k${i}`,
          value: `{"i":${i},"s":"é${'x'.repeat(i % 300)}"}`,
          offsetDelta: i,
          timestampDelta: i * 7,
        }),
      );
    const mine = encodeRecord;
    const theirs = originalRecordEncoder as NonNullable<typeof originalRecordEncoder>;
    const cases = [
      { records: [], firstTimestamp: '5', maxTimestamp: '5' },
      { records: records(1, mine), firstTimestamp: '1700000000000', maxTimestamp: '1700000000000' },
      {
        records: records(2000, mine),
        firstTimestamp: '1700000000000',
        maxTimestamp: '1700000013993',
        lastOffsetDelta: 1999,
      },
      {
        records: records(300, theirs),
        firstTimestamp: 1700000000000,
        maxTimestamp: 1700000002093,
        lastOffsetDelta: 299,
      },
      {
        records: records(50, mine),
        firstTimestamp: '1700000000000',
        maxTimestamp: '1700000000343',
        transactional: true,
        producerId: Long.fromValue('123456789012'),
        producerEpoch: 3,
        firstSequence: 77,
        lastOffsetDelta: 49,
      },
      {
        records: records(5, mine),
        firstTimestamp: '0',
        maxTimestamp: '28',
        producerId: '42',
        firstOffset: Long.fromValue(9),
      },
      { records: records(5, mine), firstTimestamp: '0', maxTimestamp: '28', compression: 1 },
    ];
    for (const c of cases) expect(await bytes(encodeRecordBatch(c))).toBe(await bytes(original(c)));
  });
});
