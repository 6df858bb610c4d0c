// kafkajs's per-record decoder against our replacement (runtime/src/connectors/kafka/
// kafkajs-record-decoder.ts), on record bodies shaped like a fetch of Nexmark bids: no key, a
// ~200-byte JSON value, no headers, timestamp deltas of a few ms, one batch context per 500
// records (a batch), measured as kafkajs-vs-ours.ts does (median records per CPU-second of 8
// alternating rounds). `npm run bench -- record-decoder` (also part of the full run).
import { createRequire } from 'node:module';
import {
  decodeRecord,
  originalRecordDecoder,
  type BatchContext,
  type KafkajsDecoder,
} from '../runtime/src/connectors/kafka/kafkajs-record-decoder.ts';
import { TributaryError } from '../runtime/src/errors.ts';
import { kafkajsVsOurs } from './kafkajs-vs-ours.ts';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => KafkajsDecoder;

/** A record body: attributes, timestamp delta, offset delta, null key, value, no headers (all varints < 2^13). */
function body(tsDelta: number, offDelta: number, value: Buffer): Buffer {
  const varint = (v: number): number[] => {
    let z = v >= 0 ? v * 2 : -v * 2 - 1;
    const out: number[] = [];
    do {
      const b = z & 0x7f;
      z = Math.floor(z / 128);
      out.push(z > 0 ? b | 0x80 : b);
    } while (z > 0);
    return out;
  };
  return Buffer.from([0, ...varint(tsDelta), ...varint(offDelta), 1, ...varint(value.length), ...value, 0]);
}

export function recordDecoderBenchmark(): void {
  const original = originalRecordDecoder;
  if (!original) throw new TributaryError('TRIB_INVARIANT', 'kafkajs record decoder not found');
  console.log(
    '\nkafkajs record decoding: kafkajs-record-decoder.ts vs kafkajs, 500,000 bid records, median of 8 rounds',
  );
  const batches = Array.from({ length: 1000 }, (_, b) => {
    const context: BatchContext = {
      firstOffset: String(1_000_000 + b * 500),
      firstTimestamp: String(1_700_000_000_000 + b * 1000),
      magicByte: 2,
      timestampType: 0,
      maxTimestamp: String(1_700_000_000_999 + b * 1000),
    };
    const value = (i: number): Buffer =>
      Buffer.from(
        JSON.stringify({
          event_type: 2,
          bid: {
            auction: 1000 + i,
            bidder: 2000 + i,
            price: 17 * i,
            channel: 'channel-5',
            url: 'https://www.nexmark.com/abc/def/item.htm?query=1',
            dateTime: 1_700_000_000_000 + i,
            extra: 'x'.repeat(40),
          },
        }),
      );
    return { context, bodies: Array.from({ length: 500 }, (_, i) => body(i * 2, i, value(i))) };
  });
  const { kafkajs: k, ours: o } = kafkajsVsOurs({ kafkajs: original, ours: decodeRecord }, (decode) => {
    let n = 0;
    for (const { context, bodies } of batches)
      for (const b of bodies) if (decode(new Decoder(b), context) !== undefined) n++;
    return n;
  });
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US').padStart(10);
  console.log(`  kafkajs ${fmt(k)} records/CPU-s   ours ${fmt(o)} records/CPU-s   ×${(o / k).toFixed(2)}`);
}
