// A cheaper replacement for kafkajs 2.2.4's record batch encoder (protocol/recordBatch/v0, the
// RecordBatch of every produce request's partition) for uncompressed batches. The original
// appends the encoded records to a growing Buffer (zeroed 512 bytes, then doubled and copied
// as it fills), copies that into a second growing Buffer behind the CRC and a third behind the
// first offset: three growth series and three copies of a send's payload. The replacement
// writes the header fields with kafkajs's own Encoder (same int64 handling of Long, string and
// number values), adds the records' sizes, and copies each record once into one Buffer of the
// batch's exact size; the CRC-32C is kafkajs's, over the same bytes. Its bytes are identical
// to the original's. Compressed batches, and records that are not encoders, go to the original.
// Installed into the CommonJS module cache before kafkajs loads, as kafkajs-record-encoder.ts
// is; if kafkajs was loaded first or its layout changed, the original stays: slower, not wrong.
import { installKafkajsPatch, isMarked, kafkajsModule, withMark } from './kafkajs-module-patch.ts';

/** kafkajs's Encoder, as far as this module uses it. */
interface Encoder {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
  size(): number;
  writeInt8(v: number): Encoder;
  writeInt16(v: number): Encoder;
  writeInt32(v: number): Encoder;
  writeInt64(v: unknown): Encoder;
}
type EncoderClass = (new (initialSize?: number) => Encoder) & { prototype: Encoder };
export interface RecordBatchArgs {
  compression?: number;
  firstOffset?: unknown;
  firstTimestamp?: unknown;
  maxTimestamp?: unknown;
  partitionLeaderEpoch?: number;
  lastOffsetDelta?: number;
  transactional?: boolean;
  producerId?: unknown;
  producerEpoch?: number;
  firstSequence?: number;
  records?: unknown[];
}
type RecordBatchFn = (args: RecordBatchArgs) => Promise<Encoder>;
interface RecordBatchModule {
  RecordBatch: RecordBatchFn;
  MAGIC_BYTE: number;
}

const BATCH_FILE = 'kafkajs/src/protocol/recordBatch/v0/index.js';
const MARK = Symbol.for('tributary.kafkajs.recordBatchEncoder');
const ORIGINAL = Symbol.for('tributary.kafkajs.recordBatchEncoder.original');
/** Attribute bit of a transactional batch, as kafkajs sets it. */
const TRANSACTIONAL_MASK = 16;
const COMPRESSION_CODEC_MASK = 0x07;

interface Kafkajs {
  original: RecordBatchFn;
  Encoder: EncoderClass;
  Long: { fromInt(n: number): unknown; fromValue(v: unknown): unknown };
  crc32C: (b: Buffer) => number;
  MAGIC_BYTE: number;
}

function load(): Kafkajs | undefined {
  const mod = kafkajsModule(BATCH_FILE) as RecordBatchModule | undefined;
  if (typeof mod?.RecordBatch !== 'function' || mod.MAGIC_BYTE !== 2) return undefined;
  const Encoder = kafkajsModule('kafkajs/src/protocol/encoder.js') as EncoderClass | undefined;
  const Long = kafkajsModule('kafkajs/src/utils/long.js') as Kafkajs['Long'] | undefined;
  const crc32C = kafkajsModule('kafkajs/src/protocol/recordBatch/crc32C/index.js') as Kafkajs['crc32C'] | undefined;
  if (typeof Encoder !== 'function' || typeof Long?.fromInt !== 'function' || typeof crc32C !== 'function')
    return undefined;
  const marked = (mod.RecordBatch as unknown as Record<symbol, RecordBatchFn | undefined>)[ORIGINAL];
  return { original: marked ?? mod.RecordBatch, Encoder, Long, crc32C, MAGIC_BYTE: mod.MAGIC_BYTE };
}

const k = load();

function isEncoder(r: unknown): r is { buffer: Buffer } {
  return typeof r === 'object' && r !== null && Buffer.isBuffer((r as { buf?: unknown }).buf);
}

/** kafkajs's RecordBatch v0 (FirstOffset, Length, then the batch), uncompressed, in one exact-size Buffer. */
export async function encodeRecordBatch(args: RecordBatchArgs): Promise<Encoder> {
  const { original, Encoder, Long, crc32C, MAGIC_BYTE } = k as Kafkajs;
  const { compression = 0, records = [] } = args;
  if ((compression & COMPRESSION_CODEC_MASK) !== 0 || !records.every(isEncoder)) return original(args);
  const {
    firstOffset = Long.fromInt(0),
    firstTimestamp = Date.now(),
    maxTimestamp = Date.now(),
    partitionLeaderEpoch = 0,
    lastOffsetDelta = 0,
    transactional = false,
    producerId = Long.fromValue(-1),
    producerEpoch = 0,
    firstSequence = 0,
  } = args;
  const bodyHead = new Encoder(64)
    .writeInt16(transactional ? TRANSACTIONAL_MASK : 0)
    .writeInt32(lastOffsetDelta)
    .writeInt64(firstTimestamp)
    .writeInt64(maxTimestamp)
    .writeInt64(producerId)
    .writeInt16(producerEpoch)
    .writeInt32(firstSequence)
    .writeInt32(records.length).buffer;
  const parts = records.map((r) => r.buffer);
  let bodyLen = bodyHead.length;
  for (const p of parts) bodyLen += p.length;
  const batchLen = 4 + 1 + 4 + bodyLen; // PartitionLeaderEpoch, Magic, CRC, body
  const head = new Encoder(32)
    .writeInt64(firstOffset)
    .writeInt32(batchLen)
    .writeInt32(partitionLeaderEpoch)
    .writeInt8(MAGIC_BYTE).buffer;
  const total = head.length + 4 + bodyLen;
  const buf = Buffer.allocUnsafe(total);
  head.copy(buf, 0);
  const bodyStart = head.length + 4;
  let at = bodyStart + bodyHead.copy(buf, bodyStart);
  for (const p of parts) at += p.copy(buf, at);
  buf.writeUInt32BE(crc32C(buf.subarray(bodyStart, total)), head.length);
  const out = Object.create(Encoder.prototype) as Encoder;
  out.buf = buf;
  out.offset = total;
  return out;
}

/** kafkajs's RecordBatch (undefined if its layout changed), for tests comparing bytes. */
export const originalRecordBatch: RecordBatchFn | undefined = k?.original;

// A later evaluation of this module finds kafkajs's own encoder under ORIGINAL (load()).
if (k) (encodeRecordBatch as unknown as Record<symbol, unknown>)[ORIGINAL] = k.original;

/** True when kafkajs's produce requests encode uncompressed record batches with encodeRecordBatch. */
export const recordBatchEncoderPatched =
  k !== undefined &&
  installKafkajsPatch({
    file: BATCH_FILE,
    loadedBy: 'kafkajs/src/protocol/requests/produce/v3/request.js',
    isPatched: (e) => isMarked((e as Partial<RecordBatchModule> | undefined)?.RecordBatch, MARK),
    replace: (exp) => ({ ...(exp as RecordBatchModule), RecordBatch: withMark(encodeRecordBatch, MARK) }),
  });
