// A cheaper replacement for kafkajs 2.2.4's per-record decoder (protocol/recordBatch/record/v0/
// decoder.js), which every fetch runs once per record. The original parses the batch's first
// offset and first timestamp from their decimal strings into Long objects for every record,
// adds the deltas in Long arithmetic (the timestamp delta read through a Long varint) and prints
// the sums back to strings: in a q0 profile (docs/runtime/performance.md) that and the decoder
// around it were ~10 % of a slot thread's CPU. The replacement parses the batch's two bases once
// per batch and adds in plain numbers while every value is a safe integer (BigInt beyond, as
// kafkajs's Long is), and skips the headers' reduce when there are none. It returns the
// same object, field for field. Installed into the CommonJS module cache before kafkajs loads,
// as kafkajs-record-encoder.ts is; if kafkajs was loaded first or its layout changed, the
// original stays: slower, not wrong.
import { installKafkajsPatch, isMarked, kafkajsModule, withMark } from './kafkajs-module-patch.ts';

/** kafkajs's Decoder, as far as this module uses it. */
export interface KafkajsDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarIntBytes(): Buffer | null;
}
export interface BatchContext {
  firstOffset: string;
  firstTimestamp: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: string;
}
type RecordDecoder = (decoder: KafkajsDecoder, batchContext?: BatchContext) => unknown;
type HeaderDecoder = (decoder: KafkajsDecoder) => { key: string; value: Buffer | null };

const RECORD_FILE = 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js';
const MARK = Symbol.for('tributary.kafkajs.recordDecoder');
const ORIGINAL = Symbol.for('tributary.kafkajs.recordDecoder.original');

function loadOriginal(): RecordDecoder | undefined {
  const e = kafkajsModule(RECORD_FILE);
  if (typeof e !== 'function') return undefined;
  return (e as unknown as Record<symbol, RecordDecoder | undefined>)[ORIGINAL] ?? (e as RecordDecoder);
}

const original = loadOriginal();
const headerDecoder = kafkajsModule('kafkajs/src/protocol/recordBatch/header/v0/decoder.js') as
  HeaderDecoder | undefined;
const InvalidLong = (kafkajsModule('kafkajs/src/errors.js') as { KafkaJSInvalidLongError?: new (m: string) => Error })
  ?.KafkaJSInvalidLongError;
const LOG_APPEND_TIME = (kafkajsModule('kafkajs/src/protocol/timestampTypes.js') as { LOG_APPEND_TIME?: number })
  ?.LOG_APPEND_TIME;

/** A batch's first offset and timestamp as numbers (NaN when not safe integers), parsed once per batch. */
const bases = new WeakMap<BatchContext, { offset: number; timestamp: number }>();

function safe(s: string): number {
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : NaN;
}

/** `base` + `delta` as kafkajs's Long prints it (a BigInt underneath: no wrap at 64 bits). */
function sum(baseText: string, base: number, delta: number | bigint): string {
  if (typeof delta === 'number') {
    const n = base + delta;
    if (Number.isSafeInteger(n)) return String(n);
  }
  return (BigInt(baseText) + BigInt(delta)).toString();
}

/** A zig-zag varlong: a number while it fits in 7 bytes (49 bits), else a BigInt. */
function readVarLong(d: KafkajsDecoder): number | bigint {
  const b = d.buffer;
  let at = d.offset;
  let n = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    const byte = b[at++] as number;
    n += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) {
      d.offset = at;
      return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
    }
  }
  let big = BigInt(n);
  let shift = 49n;
  for (;;) {
    if (shift > 63n) {
      const message = 'Invalid Long, must contain 9 bytes or less'; // kafkajs's words
      throw InvalidLong ? new InvalidLong(message) : new RangeError(message);
    }
    const byte = b[at++] as number;
    big += BigInt(byte & 0x7f) << shift;
    shift += 7n;
    if (byte < 0x80) break;
  }
  d.offset = at;
  big = BigInt.asUintN(64, big);
  return BigInt.asIntN(64, (big >> 1n) ^ -(big & 1n));
}

function readHeaders(d: KafkajsDecoder, decode: HeaderDecoder): Record<string, unknown> {
  const length = d.readVarInt();
  if (length === -1 || length === 0) return {};
  const array = new Array<{ key: string; value: Buffer | null }>(length);
  for (let i = 0; i < length; i++) array[i] = decode(d);
  // kafkajs's fold: a repeated key collects its values in an array.
  return array.reduce<Record<string, unknown>>(
    (obj, { key, value }) => ({
      ...obj,
      [key]: obj[key] === undefined ? value : Array.isArray(obj[key]) ? obj[key].concat([value]) : [obj[key], value],
    }),
    {},
  );
}

export function decodeRecord(decoder: KafkajsDecoder, batchContext: BatchContext = {} as BatchContext): unknown {
  const { firstOffset, firstTimestamp, magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
  let base = bases.get(batchContext);
  if (base === undefined) {
    base = { offset: safe(firstOffset), timestamp: safe(firstTimestamp) };
    bases.set(batchContext, base);
  }
  const attributes = decoder.readInt8();
  const timestampDelta = readVarLong(decoder);
  const timestamp =
    timestampType === LOG_APPEND_TIME && maxTimestamp
      ? maxTimestamp
      : sum(firstTimestamp, base.timestamp, timestampDelta);
  const offset = sum(firstOffset, base.offset, decoder.readVarInt());
  const key = decoder.readVarIntBytes();
  const value = decoder.readVarIntBytes();
  const headers = readHeaders(decoder, headerDecoder as HeaderDecoder);
  return {
    magicByte,
    attributes,
    timestamp,
    offset,
    key,
    value,
    headers,
    isControlRecord: isControlBatch,
    batchContext,
  };
}

if (original) (decodeRecord as unknown as Record<symbol, unknown>)[ORIGINAL] = original;

/** The decoder kafkajs had (undefined if its layout changed), for tests comparing results. */
export const originalRecordDecoder: RecordDecoder | undefined = original;

/** True when kafkajs's fetches decode records with decodeRecord. */
export const recordDecoderPatched =
  original !== undefined &&
  typeof headerDecoder === 'function' &&
  LOG_APPEND_TIME !== undefined &&
  installKafkajsPatch({
    file: RECORD_FILE,
    loadedBy: 'kafkajs/src/protocol/recordBatch/v0/decoder.js',
    isPatched: (e) => isMarked(e, MARK),
    replace: () => withMark(decodeRecord, MARK),
  });
