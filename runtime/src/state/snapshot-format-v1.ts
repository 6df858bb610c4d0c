// Keyed-state snapshot format, version 1 (documented in docs/runtime/state-format.md).
//
//   "TRKS" | u16 version | u32 headerLen | header JSON
//   repeated, key groups ascending:  u32 keyGroup | u32 len | JSON lines [state, key, value]
//   u32 0xFFFFFFFF (end marker) | u32 CRC-32 of every byte before it
//
// All integers big-endian. A reader restoring a different key-group range skips the
// sections outside it, which is what makes a snapshot splittable on rescale.
import { crc32 } from 'node:zlib';
import { TributaryError } from '../errors.ts';
import type { KeyGroupRange } from './key-groups.ts';

export const SNAPSHOT_MAGIC = 'TRKS';
export const SNAPSHOT_VERSION = 1;
const END_MARKER = 0xffffffff;

export interface SnapshotHeader {
  format: 'tributary-keyed-state';
  version: number;
  hash: string;
  maxParallelism: number;
  keyGroupRange: KeyGroupRange;
  /** Names of the states present, in first-seen order. */
  states: string[];
}

export interface SnapshotEntry {
  state: string;
  key: string;
  value: unknown;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function writeSnapshot(header: SnapshotHeader, groups: Iterable<[number, SnapshotEntry[]]>): Uint8Array {
  const chunks: Uint8Array[] = [];
  const u32 = (n: number): Uint8Array => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    return b;
  };
  const headerBytes = enc.encode(JSON.stringify(header));
  const start = new Uint8Array(10);
  start.set(enc.encode(SNAPSHOT_MAGIC), 0);
  new DataView(start.buffer).setUint16(4, SNAPSHOT_VERSION);
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

function corrupt(msg: string): never {
  throw new TributaryError('TRIB_STATE_CORRUPT', `keyed-state snapshot: ${msg}`);
}

export function readSnapshotHeader(bytes: Uint8Array): SnapshotHeader {
  if (bytes.length < 14 || dec.decode(bytes.subarray(0, 4)) !== SNAPSHOT_MAGIC) corrupt('not a Tributary keyed-state snapshot (bad magic)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(4);
  if (version !== SNAPSHOT_VERSION) {
    throw new TributaryError('TRIB_STATE_INCOMPATIBLE', `keyed-state snapshot version ${version} is not supported (this runtime reads version ${SNAPSHOT_VERSION})`);
  }
  const hlen = dv.getUint32(6);
  if (10 + hlen > bytes.length) corrupt('header length beyond end of data');
  try {
    return JSON.parse(dec.decode(bytes.subarray(10, 10 + hlen))) as SnapshotHeader;
  } catch (e) {
    throw new TributaryError('TRIB_STATE_CORRUPT', 'keyed-state snapshot: unreadable header', { cause: e });
  }
}

/** Verifies the checksum, then yields the entries of key groups inside `range`. */
export function* readSnapshot(bytes: Uint8Array, range?: KeyGroupRange): Generator<[number, SnapshotEntry]> {
  const header = readSnapshotHeader(bytes);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8) corrupt('truncated');
  const stored = dv.getUint32(bytes.length - 4);
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== stored) corrupt('checksum mismatch');
  let off = 10 + dv.getUint32(6);
  while (true) {
    if (off + 4 > bytes.length - 4) corrupt('missing end marker');
    const kg = dv.getUint32(off);
    if (kg === END_MARKER) break;
    const len = dv.getUint32(off + 4);
    const start = off + 8;
    off = start + len;
    if (off > bytes.length - 8) corrupt(`section of key group ${kg} runs past the end`);
    if (kg >= header.maxParallelism) corrupt(`key group ${kg} ≥ maxParallelism ${header.maxParallelism}`);
    if (range && (kg < range.start || kg > range.end)) continue;
    const text = dec.decode(bytes.subarray(start, off));
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const [state, key, value] = JSON.parse(line) as [string, string, unknown];
      yield [kg, { state, key, value }];
    }
  }
}
