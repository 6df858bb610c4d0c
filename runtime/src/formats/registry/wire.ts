// The Confluent wire format every registry-aware Kafka serializer writes: magic byte 0, the
// schema id as a 4-byte big-endian unsigned int, then the payload. Protobuf adds, between the id
// and the payload, the path of the message type in its .proto file as an array of indexes, each a
// zigzag varint, count first; the common path [0] (the first message) is the single byte 0.
import { TributaryError } from '../../errors.ts';

export const MAGIC_BYTE = 0;
const HEADER = 5;

export interface Framed {
  readonly schemaId: number;
  /** The bytes after the header (for Protobuf: still starting with the message indexes). */
  readonly payload: Uint8Array;
}

export function frame(schemaId: number, payload: Uint8Array): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0xffff_ffff) {
    throw new TributaryError('TRIB_FORMAT_ENCODE', `schema id ${schemaId} does not fit the 4-byte wire header`);
  }
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  out[0] = MAGIC_BYTE;
  out.writeUInt32BE(schemaId, 1);
  out.set(payload, HEADER);
  return out;
}

export function unframe(bytes: Uint8Array): Framed {
  if (bytes.length < HEADER) {
    throw new TributaryError(
      'TRIB_FORMAT_DECODE',
      `message of ${bytes.length} bytes is shorter than the 5-byte header`,
    );
  }
  if (bytes[0] !== MAGIC_BYTE) {
    throw new TributaryError(
      'TRIB_FORMAT_DECODE',
      `message starts with byte ${bytes[0]}, not the magic byte 0 of the schema registry wire format`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { schemaId: view.getUint32(1, false), payload: bytes.subarray(HEADER) };
}

function writeZigzagVarint(n: number, out: number[]): void {
  // Indexes are small non-negative ints; zigzag of a 32-bit int, then base-128 varint.
  let v = ((n << 1) ^ (n >> 31)) >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

function readZigzagVarint(bytes: Uint8Array, pos: number): { value: number; next: number } {
  let v = 0;
  for (let shift = 0, i = pos; shift < 35; shift += 7, i++) {
    if (i >= bytes.length) break;
    const b = bytes[i]!;
    v |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return { value: (v >>> 1) ^ -(v & 1), next: i + 1 };
  }
  throw new TributaryError(
    'TRIB_FORMAT_DECODE',
    `truncated or overlong varint in the Protobuf message indexes at byte ${pos}`,
  );
}

/** The message-index array; [0] is written as the single byte 0, as Confluent's serializers do. */
export function encodeMessageIndexes(indexes: readonly number[]): Buffer {
  if (indexes.length === 1 && indexes[0] === 0) return Buffer.from([0]);
  const out: number[] = [];
  writeZigzagVarint(indexes.length, out);
  for (const i of indexes) writeZigzagVarint(i, out);
  return Buffer.from(out);
}

/** Reads the message-index array at the start of a Protobuf payload; a count of 0 means [0]. */
export function decodeMessageIndexes(payload: Uint8Array): { indexes: number[]; rest: Uint8Array } {
  const count = readZigzagVarint(payload, 0);
  if (count.value === 0) return { indexes: [0], rest: payload.subarray(count.next) };
  if (count.value < 0 || count.value > 64) {
    throw new TributaryError('TRIB_FORMAT_DECODE', `Protobuf message-index count ${count.value} is out of range`);
  }
  const indexes: number[] = [];
  let pos = count.next;
  for (let k = 0; k < count.value; k++) {
    const r = readZigzagVarint(payload, pos);
    if (r.value < 0) throw new TributaryError('TRIB_FORMAT_DECODE', `negative Protobuf message index ${r.value}`);
    indexes.push(r.value);
    pos = r.next;
  }
  return { indexes, rest: payload.subarray(pos) };
}
