// Installs our CRC-32C (crc32c.ts) as kafkajs 2.2.4's own (protocol/recordBatch/crc32C), the
// checksum of every record batch a producer sends, compressed or not: same value, several times
// faster. Installed into the CommonJS module cache before kafkajs loads, as the other kafkajs-*
// patches are; if kafkajs was loaded first or its layout changed, the original stays: slower,
// not wrong.
import { crc32c } from './crc32c.ts';
import { installKafkajsPatch, isMarked, withMark } from './kafkajs-module-patch.ts';

const MARK = Symbol.for('tributary.kafkajs.crc32c');

/** True when kafkajs's record batches are checksummed by crc32c. */
export const crc32cPatched = installKafkajsPatch({
  file: 'kafkajs/src/protocol/recordBatch/crc32C/index.js',
  loadedBy: 'kafkajs/src/protocol/recordBatch/v0/index.js',
  isPatched: (e) => isMarked(e, MARK),
  replace: (original) => (typeof original === 'function' ? withMark((b: Buffer) => crc32c(b), MARK) : undefined),
});
