// The Kafka headers a source record was read with, kept for its dead letter only. Two shapes,
// one per fetch path, and neither is turned into a list until a record actually fails:
// kafkajs's own headers object (the consumer on the slot's thread: kafkajs decoded it anyway,
// keeping it is a reference), or the record's headers packed into bytes on a fetch thread
// (fetched-records.ts) and read as a view of the moved buffer.
//
// kafkajs folds a record's headers into an object, a repeated name collecting its values in an
// array in record order; so the values of one name keep their order, and names come in the order
// of their first appearance (integer-like names first: JavaScript object key order). The same
// model writes them, so a header list goes back through kafkajs exactly as it came out.
//
// Packed form, per header: key length (u32 LE), key bytes (UTF-8, as kafkajs decoded it), value
// length (i32 LE, -1 for a null value), value bytes.

/** A record's headers as kafkajs delivers them. */
export type KafkajsHeaders = Readonly<Record<string, Buffer | string | null | (Buffer | string | null)[] | undefined>>;

/** What a queued record keeps of its headers: kafkajs's object, or its packed bytes. */
export type KeptHeaders = KafkajsHeaders | Buffer;

export interface Header {
  key: string;
  value: Buffer | null;
}

const asBuffer = (v: Buffer | string | null): Buffer | null => (v === null || Buffer.isBuffer(v) ? v : Buffer.from(v));

const asBufferView = (v: Uint8Array): Buffer =>
  Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/** The headers in record order (as far as kafkajs's model keeps it: see above). */
export function headerList(h: KeptHeaders | undefined): Header[] {
  if (h === undefined) return [];
  if (Buffer.isBuffer(h)) return unpackHeaders(h);
  const out: Header[] = [];
  for (const key of Object.keys(h)) {
    const v = h[key];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push({ key, value: asBuffer(x) });
    else out.push({ key, value: asBuffer(v) });
  }
  return out;
}

/** Packed size of `h`'s headers (0 for none). */
export function packedHeadersSize(h: KeptHeaders | undefined): number {
  let n = 0;
  for (const { key, value } of headerList(h)) n += 8 + Buffer.byteLength(key) + (value ? value.length : 0);
  return n;
}

/** Writes `h`'s headers into `into` at `at`; returns the position after them. */
export function packHeaders(h: KeptHeaders | undefined, into: Buffer, at: number): number {
  for (const { key, value } of headerList(h)) {
    const klen = into.write(key, at + 4, 'utf8');
    into.writeUInt32LE(klen, at);
    at += 4 + klen;
    into.writeInt32LE(value ? value.length : -1, at);
    at += 4;
    if (value) at += value.copy(into, at);
  }
  return at;
}

function unpackHeaders(b: Buffer): Header[] {
  const out: Header[] = [];
  let at = 0;
  while (at < b.length) {
    const klen = b.readUInt32LE(at);
    const key = b.toString('utf8', at + 4, at + 4 + klen);
    at += 4 + klen;
    const vlen = b.readInt32LE(at);
    at += 4;
    out.push({ key, value: vlen < 0 ? null : b.subarray(at, at + vlen) });
    if (vlen > 0) at += vlen;
  }
  return out;
}

/**
 * The headers of a dead letter: the original ones as they were read, then `ours`. A name in both
 * (a record that already carried a `tributary.*` header of ours, e.g. a dead letter read again)
 * keeps every value, the original ones first and ours last, so Java's `Headers.lastHeader()`
 * reads ours; kafkajs writes a name's values together, so ours then sits right after the
 * original values of its name, not after all the originals. A null original value is written as
 * an empty one: kafkajs cannot send a null header value.
 */
export function deadLetterHeaders(
  original: KeptHeaders | undefined,
  ours: Readonly<Record<string, string>>,
): Record<string, Buffer | string | (Buffer | string)[]> {
  return withOurHeaders(headerList(original), ours);
}

/** deadLetterHeaders from a header list (a step's dead letter: its origin's headers, core/origin.ts). */
export function withOurHeaders(
  original: readonly { key: string; value: Uint8Array | null }[],
  ours: Readonly<Record<string, string>>,
): Record<string, Buffer | string | (Buffer | string)[]> {
  const out: Record<string, Buffer | string | (Buffer | string)[]> = {};
  const add = (key: string, value: Buffer | string): void => {
    const had = out[key];
    out[key] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  };
  for (const { key, value } of original) add(key, value === null ? Buffer.alloc(0) : asBufferView(value));
  for (const key of Object.keys(ours)) add(key, ours[key] as string);
  return out;
}
