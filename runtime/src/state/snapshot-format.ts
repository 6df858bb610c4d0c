// Keyed-state snapshot format (documented in docs/runtime/state-format.md): the framing of
// snapshot-framing.ts around key-group sections, the version this runtime writes and the
// versions it reads.
//
// Payload, version 2 (written): binary, repeated { varuint stateIndex, varuint count,
// count × (key string, value in TVE) } — see binary-writer.ts. Version 1 (read only):
// JSON lines, snapshot-format-v1.ts.
import { crc32 } from 'node:zlib';
import { TributaryError } from '../errors.ts';
import { BinaryWriter } from './binary-writer.ts';
import { BinaryReader, stateCorrupt } from './binary-reader.ts';
import { readSectionV1 } from './snapshot-format-v1.ts';
import { END_MARKER, SNAPSHOT_MAGIC, type SnapshotHeader } from './snapshot-framing.ts';
import type { KeyGroupRange } from './key-groups.ts';

/** The version this runtime writes. */
export const SNAPSHOT_VERSION = 2;
/**
 * A full snapshot holding a state with a time-to-live (its values stamped, state-ttl.ts): the
 * version 2 payload with a `ttl` header field. Its own version so that a runtime that predates TTL
 * refuses it (an unknown version) instead of reading `[lastAccessMs, value]` as the value.
 */
export const TTL_SNAPSHOT_VERSION = 4;

/** The version of a full snapshot whose header has (or lacks) a `ttl` field. */
export function fullSnapshotVersion(header: { ttl?: unknown }): number {
  return header.ttl === undefined ? SNAPSHOT_VERSION : TTL_SNAPSHOT_VERSION;
}
/** The versions this runtime reads. */
/** The versions this runtime reads (3: delta files, keyed-delta.ts; never a whole snapshot). */
export const READABLE_SNAPSHOT_VERSIONS: readonly number[] = [1, 2, 3, 4];

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Writes the framing around sections whose payload the caller writes into `w`. */
export class SnapshotWriter {
  readonly w: BinaryWriter;
  private sectionStart = -1;

  constructor(header: SnapshotHeader, sizeHint = 64 * 1024) {
    this.w = new BinaryWriter(sizeHint);
    const headerBytes = enc.encode(JSON.stringify(header));
    this.w.bytes(enc.encode(SNAPSHOT_MAGIC));
    this.w.u16(header.version);
    this.w.u32(headerBytes.length);
    this.w.bytes(headerBytes);
  }

  beginSection(kg: number): void {
    this.sectionStart = this.w.pos;
    this.w.u32(kg);
    this.w.u32(0); // length, patched by endSection
  }

  /** Patches the section length; an empty section is dropped (sections exist only for key groups with state). */
  endSection(): void {
    const len = this.w.pos - this.sectionStart - 8;
    if (len === 0) this.w.pos = this.sectionStart;
    else this.w.patchU32(this.sectionStart + 4, len);
    this.sectionStart = -1;
  }

  finish(): Uint8Array {
    this.w.u32(END_MARKER);
    const body = this.w.finish();
    const crc = crc32(body);
    this.w.u32(crc);
    return this.w.finish();
  }
}

export function readSnapshotHeader(bytes: Uint8Array): SnapshotHeader {
  if (bytes.length < 14 || dec.decode(bytes.subarray(0, 4)) !== SNAPSHOT_MAGIC)
    stateCorrupt('not a Tributary keyed-state snapshot (bad magic)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(4);
  if (!READABLE_SNAPSHOT_VERSIONS.includes(version)) {
    throw new TributaryError(
      'TRIB_STATE_INCOMPATIBLE',
      `keyed-state snapshot version ${version} is not supported (this runtime reads versions ${READABLE_SNAPSHOT_VERSIONS.join(', ')})`,
    );
  }
  const hlen = dv.getUint32(6);
  if (10 + hlen > bytes.length) stateCorrupt('header length beyond end of data');
  let h: SnapshotHeader;
  try {
    h = JSON.parse(dec.decode(bytes.subarray(10, 10 + hlen))) as SnapshotHeader;
  } catch (e) {
    throw new TributaryError('TRIB_STATE_CORRUPT', 'keyed-state snapshot: unreadable header', { cause: e });
  }
  if (h === null || typeof h !== 'object' || h.version !== version)
    stateCorrupt(
      `header version ${String((h as SnapshotHeader | null)?.version)} differs from the framing's ${version}`,
    );
  return h;
}

/** Verifies the checksum, then yields [keyGroup, payloadStart, payloadEnd] of the sections inside `range`. */
export function* snapshotSections(
  bytes: Uint8Array,
  header: SnapshotHeader,
  range?: KeyGroupRange,
): Generator<[number, number, number]> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 18) stateCorrupt('truncated');
  const stored = dv.getUint32(bytes.length - 4);
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== stored) stateCorrupt('checksum mismatch');
  let off = 10 + dv.getUint32(6);
  while (true) {
    if (off + 4 > bytes.length - 4) stateCorrupt('missing end marker');
    const kg = dv.getUint32(off);
    if (kg === END_MARKER) break;
    if (off + 8 > bytes.length - 8) stateCorrupt(`section header of key group ${kg} runs past the end`);
    const len = dv.getUint32(off + 4);
    const start = off + 8;
    off = start + len;
    if (off > bytes.length - 8) stateCorrupt(`section of key group ${kg} runs past the end`);
    if (kg >= header.maxParallelism) stateCorrupt(`key group ${kg} ≥ maxParallelism ${header.maxParallelism}`);
    if (range && (kg < range.start || kg > range.end)) continue;
    yield [kg, start, off];
  }
}

/**
 * Every entry of a snapshot of any readable version in its JSON form, grouped by key group
 * (tooling and tests: inspection, conversion; the restore path decodes straight into maps).
 */
export function readSnapshotEntries(bytes: Uint8Array): {
  header: SnapshotHeader;
  groups: [number, { state: string; key: string; value: unknown }[]][];
} {
  const header = readSnapshotHeader(bytes);
  const groups: [number, { state: string; key: string; value: unknown }[]][] = [];
  const r = new BinaryReader(bytes);
  for (const [kg, start, end] of snapshotSections(bytes, header)) {
    const entries: { state: string; key: string; value: unknown }[] = [];
    if (header.version === 1) {
      for (const e of readSectionV1(bytes, start, end)) entries.push(e);
    } else {
      r.pos = start;
      r.end = end;
      while (r.pos < end) {
        const si = r.varuint();
        const state = header.states[si] ?? stateCorrupt(`state index ${si} not in the header`);
        const count = r.varuint();
        for (let k = 0; k < count; k++) entries.push({ state, key: r.string(), value: r.value() });
      }
    }
    groups.push([kg, entries]);
  }
  return { header, groups };
}
