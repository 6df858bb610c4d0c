// Reads the keyed-state files a restoring process needs (checkpoint-format.md, "Reading state
// files"): a file whose key groups the process needs only in part, and which carries a
// key-group index, is fetched as byte ranges (ranged GETs on S3, positioned reads on a
// filesystem), each indexed piece checked against its CRC-32, and re-assembled into a snapshot
// of just those key groups; every other file is read whole and checked against its size and
// SHA-256 (files written before the index existed always take that path). All reads of one
// restore share a bound on requests in flight. Every mismatch fails closed with a stable code.
import { TributaryError } from '../errors.ts';
import type { KeyGroupRange } from '../state/key-groups.ts';
import {
  assembleSnapshot,
  coversAll,
  indexProblem,
  indexSnapshot,
  rangesFor,
  type FetchRange,
} from '../state/snapshot-index.ts';
import { crc32 } from 'node:zlib';
import { sha256Hex } from './checkpoint-storage.ts';
import { unlistedKeyGroup, wantedOfFile } from './listed-key-groups.ts';
import type { KeyedStateDelta } from './metadata.ts';
import { stateStoreFor } from './storage/state-store-for.ts';
import { childOf } from './storage/state-uri.ts';

/** Requests in flight per restore (object storage is latency-bound; more only queue at the server). */
export const READS_IN_FLIGHT = 8;
/** Coalesced ranges stop growing here, so one large file is still fetched in parallel pieces. */
export const MAX_RANGE_BYTES = 8 * 1024 * 1024;

/** What a restore fetched: bytes read vs the whole size of the files it touched. */
export interface FetchStats {
  requests: number;
  bytesRead: number;
  /** Sum of the sizes of the files read from (whole or in part). */
  fileBytes: number;
  /** Files read as ranges / whole / not at all (no wanted key group has state there). */
  rangedFiles: number;
  wholeFiles: number;
  skippedFiles: number;
}

export function newFetchStats(): FetchStats {
  return { requests: 0, bytesRead: 0, fileBytes: 0, rangedFiles: 0, wholeFiles: 0, skippedFiles: 0 };
}

/** A counting semaphore: at most `n` of the started tasks run at once. */
export function boundedRunner(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

function overlaps(a: KeyGroupRange, b: KeyGroupRange): boolean {
  return a.start <= b.end && b.start <= a.end && a.start <= a.end && b.start <= b.end;
}

function checkName(dir: string, file: string): void {
  if (file.includes('/') || file.includes('\\') || file.startsWith('.'))
    throw new TributaryError(
      'TRIB_RESTORE_METADATA_CORRUPT',
      `${dir}: state file name ${JSON.stringify(file)} is not a plain file name`,
    );
}

/**
 * The snapshot bytes of `f` holding at least the key groups in `wanted` (possibly only those),
 * or undefined when none of them has state in it.
 */
export async function readKeyedStateFile(
  dir: string,
  f: KeyedStateDelta,
  wanted: readonly KeyGroupRange[],
  run: <T>(task: () => Promise<T>) => Promise<T>,
  stats: FetchStats,
): Promise<Uint8Array | undefined> {
  checkName(dir, f.file);
  const range = f.keyGroupRange;
  // Only the key groups the file lists (listed-key-groups.ts): its range may span others.
  const want = wantedOfFile(f, wanted);
  if (range && !want.some((w) => overlaps(w, range))) {
    stats.skippedFiles++;
    return undefined;
  }
  if (f.index !== undefined) {
    const problem = range ? indexProblem(f.index, f.size, range) : 'an index without a keyGroupRange';
    if (problem) throw new TributaryError('TRIB_RESTORE_METADATA_CORRUPT', `${dir}: state file ${f.file}: ${problem}`);
    unlisted(
      dir,
      f,
      f.index.sections.map(([kg]) => kg),
    );
    if (!coversAll(f.index, want)) {
      const ranges = rangesFor(f.index, want, MAX_RANGE_BYTES);
      if (ranges.length === 0) {
        stats.skippedFiles++;
        return undefined;
      }
      stats.rangedFiles++;
      stats.fileBytes += f.size;
      const parts = await Promise.all(ranges.map((r) => run(() => readRange(dir, f, r, stats))));
      const pieces = parts.flat();
      return assembleSnapshot(pieces[0] as Uint8Array, pieces.slice(1));
    }
  }
  stats.wholeFiles++;
  stats.fileBytes += f.size;
  const bytes = await run(() => readWhole(dir, f, stats));
  // A list without an index (not written by this runtime): its sections are checked against the list here.
  if (f.index === undefined && f.keyGroups !== undefined)
    unlisted(
      dir,
      f,
      indexSnapshot(bytes).sections.map(([kg]) => kg),
    );
  return bytes;
}

function unlisted(dir: string, f: KeyedStateDelta, sections: Iterable<number>): void {
  const kg = unlistedKeyGroup(f, sections);
  if (kg !== undefined)
    throw new TributaryError(
      'TRIB_RESTORE_METADATA_CORRUPT',
      `${dir}: state file ${f.file} holds key group ${kg}, which its keyGroups in the metadata do not list`,
    );
}

/** One ranged read, split into its indexed pieces, each checked. */
async function readRange(dir: string, f: KeyedStateDelta, r: FetchRange, stats: FetchStats): Promise<Uint8Array[]> {
  const got = await stateStoreFor(dir).readRange(childOf(dir, f.file), r.offset, r.length);
  stats.requests++;
  if (got === undefined)
    throw new TributaryError(
      'TRIB_RESTORE_FILE_MISSING',
      `${dir}: state file ${f.file} listed in the metadata is missing`,
    );
  stats.bytesRead += got.bytes.length;
  if (got.size !== f.size || got.bytes.length !== r.length)
    throw new TributaryError(
      'TRIB_RESTORE_TRUNCATED',
      `${dir}: state file ${f.file} has ${got.size ?? 'fewer than ' + String(r.offset)} bytes and gave ${got.bytes.length} of bytes ${r.offset}-${r.offset + r.length - 1}; the metadata says ${f.size} (truncated or overwritten)`,
    );
  return r.pieces.map((p) => {
    const bytes = got.bytes.subarray(p.offset - r.offset, p.offset - r.offset + p.length);
    if (crc32(bytes) !== p.crc32)
      throw new TributaryError(
        'TRIB_RESTORE_RANGE_CHECKSUM',
        `${dir}: state file ${f.file}, bytes ${p.offset}-${p.offset + p.length - 1} (${p.what}), fail their CRC-32 from the metadata's index (corrupted)`,
      );
    return bytes;
  });
}

/** A whole state file of folder `dir`, checked against the size and SHA-256 the metadata lists. */
export async function readWhole(dir: string, f: KeyedStateDelta, stats: FetchStats): Promise<Uint8Array> {
  // Absent = TRIB_RESTORE_FILE_MISSING; a storage failure propagates as TRIB_STATE_STORAGE (fail closed either way).
  const bytes = await stateStoreFor(dir).read(childOf(dir, f.file));
  stats.requests++;
  if (bytes === undefined)
    throw new TributaryError(
      'TRIB_RESTORE_FILE_MISSING',
      `${dir}: state file ${f.file} listed in the metadata is missing`,
    );
  stats.bytesRead += bytes.length;
  if (bytes.length !== f.size)
    throw new TributaryError(
      'TRIB_RESTORE_TRUNCATED',
      `${dir}: state file ${f.file} has ${bytes.length} bytes, the metadata says ${f.size} (truncated or overwritten)`,
    );
  if (sha256Hex(bytes) !== f.sha256)
    throw new TributaryError(
      'TRIB_RESTORE_CHECKSUM',
      `${dir}: state file ${f.file} fails its SHA-256 checksum (corrupted)`,
    );
  return bytes;
}
