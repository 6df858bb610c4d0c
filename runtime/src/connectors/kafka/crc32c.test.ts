// Our CRC-32C against the standard check value and against kafkajs's own implementation (the
// one it replaces in record batches) on buffers of every length around the 8-byte step.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { crc32cPatched } from './kafkajs-crc32c.ts';
import { isMarked, kafkajsModule } from './kafkajs-module-patch.ts';
import { crc32c } from './crc32c.ts';

// kafkajs's own implementation, evaluated apart from the module cache our patch replaced.
const require = createRequire(import.meta.url);
const kafkajsCrcFile = require.resolve('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js');
const kafkajsCrc = require(kafkajsCrcFile) as (b: Buffer) => number;

describe('crc32c', () => {
  it('is the checksum kafkajs record batches use', () => {
    expect(crc32cPatched).toBe(true);
    const installed = kafkajsModule('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
    expect(installed(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(isMarked(installed, Symbol.for('tributary.kafkajs.crc32c'))).toBe(true);
  });

  it('gives the standard check value and that of known vectors', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43); // RFC 3720 B.4: 32 bytes of ones
  });

  it('equals kafkajs on every length from 0 to 64 and on large buffers, at any byte offset', () => {
    for (let n = 0; n <= 64; n++) {
      const b = randomBytes(n);
      expect(crc32c(b)).toBe(kafkajsCrc(b));
    }
    const big = randomBytes(1 << 20);
    expect(crc32c(big)).toBe(kafkajsCrc(big));
    const view = big.subarray(3, 100_003);
    expect(crc32c(view)).toBe(kafkajsCrc(view));
  });
});
