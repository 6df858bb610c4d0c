// The origins of a record batch in a DATA frame (frame-codec.ts, batch flag bit 1): present only
// when the exchange passes origins on (graph/origin-exchanges.ts), after the records' JSON:
//
//   u32 S, S × (str source, str topic)      the batch's distinct OriginSources
//   n × origin:  u32 ref                     0: the record has none; else 1 + its source's index
//                i32 partition, i64 offset   (big-endian: a Kafka offset is a 64-bit integer)
//                bytes key, bytes value
//                u32 H, H × (str key, bytes value)   the headers in record order
//   str   = u32 length + UTF-8;  bytes = i32 length (−1: null) + the bytes
//
// Binary rather than JSON: keys, values and header values are arbitrary bytes, and the bytes
// are what a dead letter made behind the exchange must show. The receiver copies them out of
// the frame (the frame's buffer is not kept alive by a batch's origins) and makes one
// OriginSource per (source, topic) (core/decoded-origin.ts).
import type { Batch } from '../core/batch.ts';
import { decodedOrigin, decodedOriginSource } from '../core/decoded-origin.ts';
import type { OriginHeader, OriginSource, RecordOrigin } from '../core/origin.ts';
import { TributaryError } from '../errors.ts';

type Origins = NonNullable<Batch['origins']>;

/** What this file writes into: frame-codec.ts's ByteWriter (named structurally: it imports this file). */
interface ByteWriter {
  buf: Buffer;
  pos: number;
  ensure(extra: number): void;
  u32(v: number): void;
  str(s: string): void;
}

function bytes(w: ByteWriter, b: Uint8Array | null): void {
  if (b === null) {
    w.ensure(4);
    w.buf.writeInt32BE(-1, w.pos);
    w.pos += 4;
    return;
  }
  w.ensure(4 + b.byteLength);
  w.buf.writeInt32BE(b.byteLength, w.pos);
  w.buf.set(b, w.pos + 4);
  w.pos += 4 + b.byteLength;
}

/** Appends the origins of records [0, n) to `w`. */
export function writeOrigins(w: ByteWriter, origins: Origins, n: number): void {
  const index = new Map<OriginSource, number>();
  for (let i = 0; i < n; i++) {
    const o = origins[i];
    if (o !== undefined && !index.has(o.from)) index.set(o.from, index.size);
  }
  w.u32(index.size);
  for (const src of index.keys()) {
    w.str(src.source);
    w.str(src.topic);
  }
  for (let i = 0; i < n; i++) {
    const o = origins[i];
    if (o === undefined) {
      w.u32(0);
      continue;
    }
    w.ensure(16);
    w.buf.writeUInt32BE((index.get(o.from) as number) + 1, w.pos);
    w.buf.writeInt32BE(o.partition, w.pos + 4);
    w.buf.writeBigInt64BE(o.offset, w.pos + 8);
    w.pos += 16;
    bytes(w, o.key);
    bytes(w, o.value);
    const headers = o.from.headerList(o.headers);
    w.u32(headers.length);
    for (const h of headers) {
      w.str(h.key);
      bytes(w, h.value);
    }
  }
}

function corrupt(msg: string): TributaryError {
  return new TributaryError('TRIB_NET_PROTOCOL', `corrupt data frame: origins: ${msg}`);
}

/** Reads what writeOrigins wrote from `body` at `p`: the n origins and the position after them. */
export function readOrigins(body: Buffer, p: number, n: number): [Origins, number] {
  const need = (k: number) => {
    if (p + k > body.length) throw corrupt('run past the frame');
  };
  const u32 = () => {
    need(4);
    const v = body.readUInt32BE(p);
    p += 4;
    return v;
  };
  const str = () => {
    const len = u32();
    need(len);
    const s = body.toString('utf8', p, p + len);
    p += len;
    return s;
  };
  const bytesAt = (): Uint8Array | null => {
    need(4);
    const len = body.readInt32BE(p);
    p += 4;
    if (len === -1) return null;
    if (len < 0) throw corrupt(`length ${len}`);
    need(len);
    const b = Buffer.from(body.subarray(p, p + len)); // a copy: see above
    p += len;
    return b;
  };
  const count = u32();
  if (count > n) throw corrupt(`${count} sources for ${n} records`);
  const sources: OriginSource[] = [];
  for (let s = 0; s < count; s++) {
    const source = str();
    sources.push(decodedOriginSource(source, str()));
  }
  const origins: Origins = new Array<RecordOrigin | undefined>(n);
  for (let i = 0; i < n; i++) {
    const ref = u32();
    if (ref === 0) continue;
    const from = sources[ref - 1];
    if (from === undefined) throw corrupt(`source ${ref - 1} of ${count}`);
    need(12);
    const partition = body.readInt32BE(p);
    const offset = body.readBigInt64BE(p + 4);
    p += 12;
    const key = bytesAt();
    const value = bytesAt();
    const h = u32();
    const headers: OriginHeader[] = [];
    for (let j = 0; j < h; j++) {
      const k = str();
      headers.push({ key: k, value: bytesAt() });
    }
    origins[i] = decodedOrigin(from, partition, offset, key, value, headers);
  }
  return [origins, p];
}
