// Our CRC-32C (runtime/src/connectors/kafka/crc32c.ts, installed as kafkajs's) against kafkajs
// 2.2.4's own byte-at-a-time one, on the shapes a producer checksums: record batches of 16 KiB
// and 1 MiB, measured as kafkajs-vs-ours.ts does (median MiB per CPU-second of 8 alternating
// rounds). `npm run bench -- crc32c` (also part of the full run).
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { crc32c } from '../runtime/src/connectors/kafka/crc32c.ts';
import { kafkajsVsOurs } from './kafkajs-vs-ours.ts';

const require = createRequire(import.meta.url);
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (b: Buffer) => number;

export function crc32cBenchmark(): void {
  console.log('\nCRC-32C of record batches: crc32c.ts (slicing-by-8) vs kafkajs, median of 8 rounds');
  for (const size of [16 << 10, 1 << 20]) {
    const batches = Array.from({ length: Math.max(4, (64 << 20) / size) }, () => randomBytes(size));
    const { kafkajs: k, ours: o } = kafkajsVsOurs({ kafkajs: kafkajsCrc32c, ours: crc32c }, (f) => {
      let x = 0;
      for (const b of batches) x ^= f(b);
      if (x === 0.5) console.log(x); // keeps the results live
      return (batches.length * size) / 1048576;
    });
    console.log(
      `  batches of ${(size / 1024).toLocaleString('en-US').padStart(5)} KiB   kafkajs ${k.toFixed(0).padStart(5)} MiB/CPU-s   ours ${o.toFixed(0).padStart(5)} MiB/CPU-s   ×${(o / k).toFixed(2)}`,
    );
  }
}
