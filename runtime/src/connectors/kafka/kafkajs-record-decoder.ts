// A cheaper replacement for kafkajs 2.2.4's per-record decoder (protocol/recordBatch/record/v0/
// decoder.js), which every fetch runs once per record. The original reads the timestamp delta
// as a Long (a BigInt wrapper: one object per 7 bits), then parses the batch's first offset
// and first timestamp from their strings and adds with Longs, once per record; a q0 profile
// (docs/runtime/performance.md) put those Long conversions and the varlong at 5% of the job's
// CPU. The replacement parses the batch's first offset and timestamp once per batch and adds
// the deltas as numbers, when every value involved is a safe integer (offsets and millisecond
// timestamps are, by far); it returns the same fields with the same values. A record with
// headers, values outside safe integers or bytes it cannot read go to the original decoder,
// from the record's start. Installed into the CommonJS module cache before kafkajs loads, as
// kafkajs-record-encoder.ts is; if kafkajs was loaded first or its layout changed, the
// original stays: slower, not wrong.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** kafkajs's Decoder as the record decoder uses it: a Buffer and a read position. */
export interface KafkajsDecoder {
  buffer: Buffer;
  offset: number;
}
interface BatchContext {
  firstOffset?: string;
  firstTimestamp?: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: string;
}
export interface DecodedRecord {
  magicByte: number | undefined;
  attributes: number;
  timestamp: string | undefined;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, unknown>;
  isControlRecord: boolean;
  batchContext: BatchContext;
}
type RecordDecoder = (decoder: KafkajsDecoder, batchContext?: BatchContext) => DecodedRecord;

const DECODER_FILE = 'kafkajs/src/protocol/recordBatch/record/v0/decoder.js';
const MARK = Symbol.for('tributary.kafkajs.recordDecoder');
const ORIGINAL = Symbol.for('tributary.kafkajs.recordDecoder.original');

function loadOriginal(): RecordDecoder | undefined {
  try {
    const d = require(DECODER_FILE) as unknown;
    if (typeof d !== 'function') return undefined;
    return (d as unknown as Record<symbol, RecordDecoder | undefined>)[ORIGINAL] ?? (d as RecordDecoder);
  } catch {
    return undefined;
  }
}

const original = loadOriginal();
/** kafkajs's TimestampTypes.LOG_APPEND_TIME: the record's timestamp is the batch's max timestamp. */
const LOG_APPEND_TIME = 1;

/** The batch context whose first offset and timestamp were parsed last (records of a batch share it). */
let lastContext: BatchContext | undefined;
let baseOffset: number | undefined;
let baseTimestamp: number | undefined;

function safeInteger(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Thrown inside the fast path for a record it does not take; never leaves this module. */
const NOT_FAST = new Error('not on the fast path');

/** kafkajs's Decoder.readVarInt (32-bit zig-zag) at `at`; returns [value, next]. */
function readVarInt(buf: Buffer, at: number, out: { at: number }): number {
  let b: number;
  let result = 0;
  let i = 0;
  do {
    b = buf[at++] as number;
    if (b === undefined) throw NOT_FAST;
    result += (b & 0x7f) << i;
    i += 7;
  } while (b >= 0x80);
  out.at = at;
  return (result >>> 1) ^ -(result & 1);
}

/** A zig-zag varlong as a number; NOT_FAST unless it is a safe integer (at most 7 bytes: 49 bits). */
function readVarLong(buf: Buffer, at: number, out: { at: number }): number {
  let b: number;
  let v = 0;
  let scale = 1;
  let n = 0;
  do {
    b = buf[at++] as number;
    if (b === undefined || ++n > 7) throw NOT_FAST;
    v += (b & 0x7f) * scale;
    scale *= 128;
  } while (b >= 0x80);
  out.at = at;
  return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
}

function readBytes(buf: Buffer, at: number, out: { at: number }): Buffer | null {
  const len = readVarInt(buf, at, out);
  if (len === -1) return null;
  const start = out.at;
  if (len < 0 || start + len > buf.length) throw NOT_FAST;
  out.at = start + len;
  return buf.subarray(start, start + len);
}

const pos = { at: 0 };

function fast(decoder: KafkajsDecoder, ctx: BatchContext): DecodedRecord {
  if (ctx !== lastContext) {
    lastContext = ctx;
    baseOffset = safeInteger(ctx.firstOffset);
    baseTimestamp = safeInteger(ctx.firstTimestamp);
  }
  if (baseOffset === undefined || baseTimestamp === undefined) throw NOT_FAST;
  const buf = decoder.buffer;
  const attributes = buf.readInt8(decoder.offset);
  const tsDelta = readVarLong(buf, decoder.offset + 1, pos);
  const offsetDelta = readVarInt(buf, pos.at, pos);
  const key = readBytes(buf, pos.at, pos);
  const value = readBytes(buf, pos.at, pos);
  const headerCount = readVarInt(buf, pos.at, pos);
  if (headerCount !== 0 && headerCount !== -1) throw NOT_FAST;
  const ts = baseTimestamp + tsDelta;
  const offset = baseOffset + offsetDelta;
  if (!Number.isSafeInteger(ts) || !Number.isSafeInteger(offset)) throw NOT_FAST;
  decoder.offset = pos.at;
  const { magicByte, isControlBatch = false, timestampType, maxTimestamp } = ctx;
  return {
    magicByte,
    attributes,
    timestamp: timestampType === LOG_APPEND_TIME && maxTimestamp ? maxTimestamp : String(ts),
    offset: String(offset),
    key,
    value,
    headers: {},
    isControlRecord: isControlBatch,
    batchContext: ctx,
  };
}

/** kafkajs's record v0 decoder, its fields and values, with offsets and timestamps added as numbers. */
export function decodeRecord(decoder: KafkajsDecoder, batchContext: BatchContext = {}): DecodedRecord {
  const start = decoder.offset;
  try {
    return fast(decoder, batchContext);
  } catch (e) {
    if (e !== NOT_FAST && !(e instanceof RangeError)) throw e;
    decoder.offset = start;
    return (original as RecordDecoder)(decoder, batchContext);
  }
}

(decodeRecord as unknown as Record<symbol, unknown>)[MARK] = true;
(decodeRecord as unknown as Record<symbol, unknown>)[ORIGINAL] = original;

/** The decoder kafkajs had (undefined if its layout changed), for tests comparing results. */
export const originalRecordDecoder: RecordDecoder | undefined = original;

function install(): boolean {
  if (!original) return false;
  const mod = require.cache[require.resolve(DECODER_FILE)];
  if (!mod) return false;
  if ((mod.exports as Record<symbol, unknown>)[MARK] === true) return true;
  // kafkajs's record batch decoder took the original when it loaded: too late to replace.
  if (require.cache[require.resolve('kafkajs/src/protocol/recordBatch/v0/decoder.js')]) return false;
  mod.exports = decodeRecord;
  return true;
}

/** True when kafkajs's fetches decode records with decodeRecord. */
export const recordDecoderPatched = install();
