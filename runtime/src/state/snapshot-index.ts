// The key-group offset index of a keyed-state snapshot (state-format.md, "Key-group index"):
// where each key group's section lies in the file and a CRC-32 of its bytes, so a reader that
// needs only some key groups (a rescaled slot) fetches just those byte ranges and still checks
// every byte it uses. Pure functions over bytes and numbers; the checkpoint layer does the I/O.
//
// Invariants: sections are framed exactly as in snapshot-framing.ts (u32 keyGroup | u32 len |
// payload), key groups strictly ascending, so the sections of consecutive key groups are
// adjacent bytes, and a snapshot re-assembled from the header plus any subset of framed
// sections (in order) is itself a valid snapshot of the same version.
import { crc32 } from 'node:zlib';
import { END_MARKER } from './snapshot-framing.ts';
import type { KeyGroupRange } from './key-groups.ts';

export interface SnapshotIndex {
  /** Bytes [0, headerLength): magic, version, header length, header JSON. */
  headerLength: number;
  /** CRC-32 of those bytes. */
  headerCrc32: number;
  /**
   * One entry per section (key groups with state), ascending: [keyGroup, offset of its framing,
   * length including the 8 framing bytes, CRC-32 of those bytes].
   */
  sections: [number, number, number, number][];
}

/** A byte range to fetch, and the indexed pieces inside it (each checked on its own). */
export interface FetchRange {
  offset: number;
  length: number;
  pieces: { offset: number; length: number; crc32: number; what: string }[];
}

/** Walks the framing of a snapshot the caller has just written (not re-verified: built from the bytes). */
export function indexSnapshot(bytes: Uint8Array): SnapshotIndex {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = 10 + dv.getUint32(6);
  const sections: [number, number, number, number][] = [];
  let off = headerLength;
  for (;;) {
    const kg = dv.getUint32(off);
    if (kg === END_MARKER) break;
    const len = 8 + dv.getUint32(off + 4);
    sections.push([kg, off, len, crc32(bytes.subarray(off, off + len))]);
    off += len;
  }
  return { headerLength, headerCrc32: crc32(bytes.subarray(0, headerLength)), sections };
}

/**
 * Why `index` cannot describe a file of `size` bytes holding key groups `range`, or undefined
 * when it can (checked before any byte is fetched, so a bad index fails closed, never reads
 * past the file or restores a key group from the wrong place).
 */
export function indexProblem(index: unknown, size: number, range: KeyGroupRange): string | undefined {
  const x = index as Partial<SnapshotIndex> | null;
  const u32 = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= 0xffffffff;
  if (x === null || typeof x !== 'object' || !Array.isArray(x.sections)) return 'index is not an object with sections';
  if (!u32(x.headerLength) || x.headerLength < 10 || !u32(x.headerCrc32)) return 'index header entry is invalid';
  let next = x.headerLength;
  let lastKg = -1;
  for (const s of x.sections as unknown[]) {
    if (!Array.isArray(s) || s.length !== 4 || !s.every(u32)) return 'index section entry is not 4 integers';
    const [kg, offset, length] = s as [number, number, number, number];
    if (kg <= lastKg || kg < range.start || kg > range.end)
      return `index key group ${kg} is not ascending inside the file's range ${range.start}-${range.end}`;
    if (offset !== next || length < 8) return `index section of key group ${kg} is not where the previous one ends`;
    next = offset + length;
    lastKg = kg;
  }
  // The end marker (4) and the file's CRC-32 (4) follow the last section.
  if (next + 8 !== size) return `index ends at byte ${next}, the file has ${size} bytes`;
  return undefined;
}

/** True iff every section of the file lies inside `wanted` (then the whole file is read instead). */
export function coversAll(index: SnapshotIndex, wanted: readonly KeyGroupRange[]): boolean {
  return index.sections.every(([kg]) => inAny(kg, wanted));
}

function inAny(kg: number, ranges: readonly KeyGroupRange[]): boolean {
  return ranges.some((r) => kg >= r.start && kg <= r.end);
}

/**
 * The byte ranges to fetch for the key groups in `wanted`: the header, then the sections of
 * wanted key groups; adjacent pieces are coalesced into one range of at most `maxRangeBytes`
 * (a single larger section is a range of its own). Empty when no wanted key group has state.
 */
export function rangesFor(index: SnapshotIndex, wanted: readonly KeyGroupRange[], maxRangeBytes: number): FetchRange[] {
  const pieces: FetchRange['pieces'] = [];
  for (const [kg, offset, length, crc] of index.sections)
    if (inAny(kg, wanted)) pieces.push({ offset, length, crc32: crc, what: `key group ${kg}` });
  if (pieces.length === 0) return [];
  pieces.unshift({ offset: 0, length: index.headerLength, crc32: index.headerCrc32, what: 'header' });
  const out: FetchRange[] = [];
  for (const p of pieces) {
    const last = out[out.length - 1];
    if (last && last.offset + last.length === p.offset && last.length + p.length <= maxRangeBytes) {
      last.length += p.length;
      last.pieces.push(p);
    } else out.push({ offset: p.offset, length: p.length, pieces: [p] });
  }
  return out;
}

/** A valid snapshot of the header's version holding just `sections` (framed, ascending). */
export function assembleSnapshot(header: Uint8Array, sections: readonly Uint8Array[]): Uint8Array {
  let total = header.length + 8;
  for (const s of sections) total += s.length;
  const out = new Uint8Array(total);
  out.set(header, 0);
  let off = header.length;
  for (const s of sections) {
    out.set(s, off);
    off += s.length;
  }
  const dv = new DataView(out.buffer);
  dv.setUint32(off, END_MARKER);
  dv.setUint32(off + 4, crc32(out.subarray(0, off + 4)));
  return out;
}
