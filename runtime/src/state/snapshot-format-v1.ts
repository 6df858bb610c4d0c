// Keyed-state snapshot format version 1 (state-format.md, "Version 1"): same framing as
// version 2 (snapshot-framing.ts), payload = UTF-8 JSON lines, one entry per line:
// [stateName, key, value-in-JSON-form]. This runtime only reads version 1 (savepoints taken
// before version 2 stay restorable); the encoder is kept for tests and fixtures.
import { crc32 } from 'node:zlib';
import { END_MARKER, SNAPSHOT_MAGIC, type SnapshotHeader } from './snapshot-framing.ts';

export interface SnapshotEntryV1 {
  state: string;
  key: string;
  value: unknown;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Version 1 encoder (tests/fixtures only: the runtime writes version 2). */
export function writeSnapshotV1(
  header: Omit<SnapshotHeader, 'version'>,
  groups: Iterable<[number, SnapshotEntryV1[]]>,
): Uint8Array {
  const chunks: Uint8Array[] = [];
  const u32 = (n: number): Uint8Array => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    return b;
  };
  const headerBytes = enc.encode(JSON.stringify({ ...header, version: 1 }));
  const start = new Uint8Array(10);
  start.set(enc.encode(SNAPSHOT_MAGIC), 0);
  new DataView(start.buffer).setUint16(4, 1);
  new DataView(start.buffer).setUint32(6, headerBytes.length);
  chunks.push(start, headerBytes);
  for (const [kg, entries] of groups) {
    if (entries.length === 0) continue;
    let text = '';
    for (const e of entries) text += JSON.stringify([e.state, e.key, e.value]) + '\n';
    const payload = enc.encode(text);
    chunks.push(u32(kg), u32(payload.length), payload);
  }
  chunks.push(u32(END_MARKER));
  let total = 4;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  new DataView(out.buffer).setUint32(off, crc32(out.subarray(0, off)));
  return out;
}

/** Decodes one version 1 section payload. */
export function* readSectionV1(bytes: Uint8Array, start: number, end: number): Generator<SnapshotEntryV1> {
  const text = dec.decode(bytes.subarray(start, end));
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [state, key, value] = JSON.parse(line) as [string, string, unknown];
    yield { state, key, value };
  }
}
