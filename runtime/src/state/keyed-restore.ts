// Reads keyed-state snapshots (full, any readable version, and deltas on them) into a backend's
// states: what KeyedStateBackend.restore runs. Entries go in through KeyTable.load, so a disk
// store writes them straight to disk, past its cache.
import { TributaryError } from '../errors.ts';
import { BinaryReader, stateCorrupt } from './binary-reader.ts';
import { HASH_FUNCTION, type KeyGroupRange } from './key-groups.ts';
import { applyDelta, isDeltaHeader, type DeltaState } from './keyed-delta.ts';
import { readSectionV1 } from './snapshot-format-v1.ts';
import { readSnapshotHeader, snapshotSections } from './snapshot-format.ts';
import type { SnapshotHeader } from './snapshot-framing.ts';
import { isTtlState, jsonReader, stampedIn, valueReader } from './state-ttl.ts';

/** The backend being restored, as this file needs it. */
export interface RestoreTarget {
  maxParallelism: number;
  range: KeyGroupRange;
  /** The registered state `name`; throws for one no operator registered. */
  stateOf(name: string): DeltaState;
  has(name: string): boolean;
}

/**
 * Loads `snapshots` (full ones first, then the deltas in the order given: each old slot's chain
 * oldest first, restore-plan.ts) into `t`'s states; refuses a key group found in two full ones.
 */
export function loadSnapshots(snapshots: readonly Uint8Array[], t: RestoreTarget): void {
  const headers = snapshots.map((bytes) => compatibleHeader(bytes, t.maxParallelism));
  // Which snapshot (1-based) each key group came from, 0 for none yet.
  const from = new Uint32Array(t.maxParallelism);
  const once = (kg: number, f: number): void => {
    const first = from[kg] as number;
    if (first !== 0) stateCorrupt(`key group ${kg} is in two of the snapshots restored (#${first - 1} and #${f})`);
    from[kg] = f + 1;
  };
  snapshots.forEach((bytes, f) => {
    const h = headers[f] as SnapshotHeader;
    if (!isDeltaHeader(h)) restoreFull(bytes, h, (kg) => once(kg, f), t);
  });
  snapshots.forEach((bytes, f) => {
    const h = headers[f] as SnapshotHeader;
    if (isDeltaHeader(h)) applyDelta(bytes, h, t.range, (name) => t.stateOf(name));
  });
}

/** A snapshot's header, refused when its maxParallelism or key hash is not this job's. */
function compatibleHeader(bytes: Uint8Array, maxParallelism: number): SnapshotHeader {
  const h = readSnapshotHeader(bytes);
  if (h.maxParallelism !== maxParallelism) {
    throw new TributaryError(
      'TRIB_STATE_INCOMPATIBLE',
      `snapshot has maxParallelism ${h.maxParallelism}, this job has ${maxParallelism}; maxParallelism cannot change`,
    );
  }
  if (h.hash !== HASH_FUNCTION)
    throw new TributaryError('TRIB_STATE_INCOMPATIBLE', `snapshot key hash ${h.hash} differs from ${HASH_FUNCTION}`);
  return h;
}

/** Loads the key groups of `t`'s range from one full snapshot (version 1 or 2). */
function restoreFull(bytes: Uint8Array, h: SnapshotHeader, once: (kg: number) => void, t: RestoreTarget): void {
  if (h.version === 1) {
    for (const [kg, start, end] of snapshotSections(bytes, h, t.range)) {
      once(kg);
      // Version 1 predates TTLs: a TTL'd state's values get the restore time.
      for (const e of readSectionV1(bytes, start, end)) {
        const s = t.stateOf(e.state);
        s.table(kg).load(e.key, jsonReader(s, false)(e.value));
      }
    }
    return;
  }
  if (!Array.isArray(h.states)) stateCorrupt('header lists no states');
  const byIndex = h.states.map((name) =>
    typeof name === 'string' ? name : stateCorrupt('header state name is not a string'),
  );
  const readers = byIndex.map((name) => (t.has(name) ? valueReader(t.stateOf(name), stampedIn(h, name)) : undefined));
  // A state whose values this file holds as its store keeps them (TTL stamps or not alike) loads
  // them as they are: the store's reader reads them as `readers` would.
  const asStored = byIndex.map((name) => t.has(name) && stampedIn(h, name) === isTtlState(t.stateOf(name)));
  const r = new BinaryReader(bytes);
  for (const [kg, start, end] of snapshotSections(bytes, h, t.range)) {
    once(kg);
    r.pos = start;
    r.end = end;
    while (r.pos < end) {
      const si = r.varuint();
      const name = byIndex[si];
      if (name === undefined) stateCorrupt(`state index ${si} not in the header (key group ${kg})`);
      const table = t.stateOf(name).table(kg);
      const read = readers[si] as (r: BinaryReader) => unknown;
      const count = r.varuint();
      if (count > end - r.pos) stateCorrupt(`${count} entries in ${end - r.pos} bytes (key group ${kg})`);
      if (asStored[si] === true && table.loadStored) loadAsStored(bytes, r, count, table.loadStored.bind(table));
      else
        for (let k = 0; k < count; k++) {
          const key = r.string();
          table.load(key, read(r));
        }
    }
  }
}

/** `count` entries from `r`, each handed over as its key's and value's bytes (checked, not decoded). */
function loadAsStored(
  bytes: Uint8Array,
  r: BinaryReader,
  count: number,
  load: (key: Uint8Array, value: Uint8Array) => void,
): void {
  for (let k = 0; k < count; k++) {
    const len = r.varuint();
    if (len > r.end - r.pos) stateCorrupt(`key of ${len} bytes runs past the end of its section (offset ${r.pos})`);
    const key = bytes.subarray(r.pos, r.pos + len);
    r.pos += len;
    const at = r.pos;
    r.skipValue();
    load(key, bytes.subarray(at, r.pos));
  }
}
