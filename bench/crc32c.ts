// Our CRC-32C (runtime/src/connectors/kafka/crc32c.ts, installed as kafkajs's) against kafkajs
// 2.2.4's own byte-at-a-time one, on the shapes a producer checksums: record batches of 16 KiB
// and 1 MiB. Both run in this one process, alternating for 8 rounds; the median MiB per CPU-second
// of each is compared. `npm run bench -- crc32c` (also part of the full run).
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { crc32c } from '../runtime/src/connectors/kafka/crc32c.ts';

const require = createRequire(import.meta.url);
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (b: Buffer) => number;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

export function crc32cBenchmark(): void {
  console.log('\nCRC-32C of record batches: crc32c.ts (slicing-by-8) vs kafkajs, median of 8 rounds');
  for (const size of [16 << 10, 1 << 20]) {
    const batches = Array.from({ length: Math.max(4, (64 << 20) / size) }, () => randomBytes(size));
    const rate: Record<string, number[]> = { kafkajs: [], ours: [] };
    for (let round = 0; round < 8; round++)
      for (const [name, f] of [
        ['kafkajs', kafkajsCrc32c],
        ['ours', crc32c],
      ] as const) {
        let x = 0;
        const t0 = process.cpuUsage();
        for (const b of batches) x ^= f(b);
        const t = process.cpuUsage(t0);
        if (x === 0.5) console.log(x); // keeps the results live
        (rate[name] as number[]).push((batches.length * size) / 1048576 / ((t.user + t.system) / 1e6));
      }
    const k = median(rate['kafkajs'] as number[]);
    const o = median(rate['ours'] as number[]);
    console.log(
      `  batches of ${(size / 1024).toLocaleString('en-US').padStart(5)} KiB   kafkajs ${k.toFixed(0).padStart(5)} MiB/CPU-s   ours ${o.toFixed(0).padStart(5)} MiB/CPU-s   ×${(o / k).toFixed(2)}`,
    );
  }
}
