// A cheaper replacement for kafkajs 2.2.4's per-record encoder (protocol/recordBatch/record/v0),
// which every produce request runs once per message. The original builds each record in a
// zeroed 512-byte Buffer, writes every varint through a fresh array and Buffer.from(), and
// zig-zags the timestamp delta through Long objects; with the buffer growth and copies that
// follow, a q0 profile (docs/runtime/performance.md) put Buffer allocation alone at 8% of the
// job's CPU, most of it here. The replacement sizes the record first and writes it into one
// unzeroed Buffer of exactly that size (Buffer.allocUnsafe: small ones are slices of Node's
// pool), with varints written in place. Its bytes are identical to the original's; inputs
// outside its fast path (headers, a timestamp delta that is not a safe integer, a key or value
// that is neither a string, a Buffer nor null) go to the original encoder. Installed into the
// CommonJS module cache before kafkajs loads, as kafkajs-group-messages.ts is (imported by
// kafkajs-read-committed.ts, so every Kafka module gets it); if kafkajs was loaded first or its
// layout changed, the original stays: slower, not wrong.
import { installKafkajsPatch, isMarked, kafkajsModule, withMark } from './kafkajs-module-patch.ts';

interface RecordArgs {
  offsetDelta?: number;
  timestampDelta?: unknown;
  key?: unknown;
  value?: unknown;
  headers?: Record<string, unknown>;
}
/** What kafkajs's Encoder.writeEncoder/writeEncoderArray read from an encoded record. */
export interface EncodedRecord {
  buf: Buffer;
  readonly buffer: Buffer;
}
type RecordEncoder = (args: RecordArgs) => EncodedRecord;

const RECORD_FILE = 'kafkajs/src/protocol/recordBatch/record/v0/index.js';
const MARK = Symbol.for('tributary.kafkajs.recordEncoder');
const ORIGINAL = Symbol.for('tributary.kafkajs.recordEncoder.original');

/** kafkajs's own encoder; when a previous evaluation of this module installed ours, the one it replaced. */
function loadOriginal(): RecordEncoder | undefined {
  const e = kafkajsModule(RECORD_FILE);
  if (typeof e !== 'function') return undefined;
  return (e as unknown as Record<symbol, RecordEncoder | undefined>)[ORIGINAL] ?? (e as RecordEncoder);
}

const original = loadOriginal();

/** Bytes of `v` as an unsigned LEB128 varint; `v` is a non-negative integer up to 2^54. */
function uvarintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes `v` (as uvarintSize) at `at`; returns the offset after it. Division keeps values above 2^32 exact. */
function writeUVarint(buf: Buffer, at: number, v: number): number {
  while (v >= 128) {
    buf[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[at++] = v;
  return at;
}

/** Zig-zag of a 32-bit int, as kafkajs's Encoder.encodeZigZag (its sizes and offset deltas). */
function zigZag32(v: number): number {
  return ((v << 1) ^ (v >> 31)) >>> 0;
}

/** Zig-zag of a safe integer, as kafkajs's encodeZigZag64 (exact: doubling a safe integer is exact). */
function zigZag64(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

const NULL_BYTES = zigZag32(-1);

class Encoded implements EncodedRecord {
  buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  get buffer(): Buffer {
    return this.buf;
  }
}

/** A key or value the fast path writes (null for none, as kafkajs treats null and undefined), or false. */
function bytesOf(v: unknown): Buffer | string | null | false {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' || Buffer.isBuffer(v) ? v : false;
}

function fieldSize(v: Buffer | string | null, len: number): number {
  return v === null ? uvarintSize(NULL_BYTES) : uvarintSize(zigZag32(len)) + len;
}

function writeField(buf: Buffer, at: number, v: Buffer | string | null, len: number): number {
  if (v === null) return writeUVarint(buf, at, NULL_BYTES);
  at = writeUVarint(buf, at, zigZag32(len));
  if (typeof v === 'string') buf.write(v, at, len, 'utf8');
  else v.copy(buf, at);
  return at + len;
}

/** kafkajs's Record v0 (Length, Attributes, TimestampDelta, OffsetDelta, Key, Value, Headers) in one Buffer. */
export function encodeRecord(args: RecordArgs): EncodedRecord {
  const { offsetDelta = 0, timestampDelta = 0, headers } = args;
  if (headers !== undefined) for (const _ in headers) return (original as RecordEncoder)(args);
  const k = bytesOf(args.key);
  const v = bytesOf(args.value);
  if (
    k === false ||
    v === false ||
    typeof timestampDelta !== 'number' ||
    !Number.isSafeInteger(timestampDelta) ||
    !Number.isSafeInteger(offsetDelta)
  )
    return (original as RecordEncoder)(args);
  const kLen = k === null ? 0 : typeof k === 'string' ? Buffer.byteLength(k) : k.length;
  const vLen = v === null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;
  const ts = zigZag64(timestampDelta);
  const off = zigZag32(offsetDelta);
  const body = 1 + uvarintSize(ts) + uvarintSize(off) + fieldSize(k, kLen) + fieldSize(v, vLen) + 1;
  const length = zigZag32(body);
  const buf = Buffer.allocUnsafe(uvarintSize(length) + body);
  let at = writeUVarint(buf, 0, length);
  buf[at++] = 0; // attributes: none
  at = writeUVarint(buf, at, ts);
  at = writeUVarint(buf, at, off);
  at = writeField(buf, at, k, kLen);
  at = writeField(buf, at, v, vLen);
  buf[at] = 0; // no headers: a zero-length varint array
  return new Encoded(buf);
}

(encodeRecord as unknown as Record<symbol, unknown>)[ORIGINAL] = original;

/** The encoder kafkajs had (undefined if its layout changed), for tests comparing bytes. */
export const originalRecordEncoder: RecordEncoder | undefined = original;

/** True when kafkajs's produce requests encode records with encodeRecord. */
export const recordEncoderPatched =
  original !== undefined &&
  installKafkajsPatch({
    file: RECORD_FILE,
    loadedBy: 'kafkajs/src/protocol/requests/produce/v3/request.js',
    isPatched: (e) => isMarked(e, MARK),
    replace: () => withMark(encodeRecord, MARK),
  });
