// Incremental snapshots of a KeyedStateBackend (docs/runtime/state-format.md, "Delta files"):
// which keys changed since a base snapshot, and the delta file that carries their values (or
// their removal). A delta is applied on top of its base's state; restoring a chain (a full
// snapshot, then its deltas oldest first) gives exactly the state the newest delta was taken of.
//
// Invariant: a delta taken at snapshot N on base B holds every key changed after B's snapshot
// and up to N's, so it may only name a base that this backend itself snapshotted after its last
// reset (a restore or a key-group move replaces state wholesale, and nothing tracked it).
import { BinaryReader, stateCorrupt } from './binary-reader.ts';
import { HASH_FUNCTION, type KeyGroupRange } from './key-groups.ts';
import type { BinaryWriter } from './binary-writer.ts';
import { snapshotSections, SnapshotWriter } from './snapshot-format.ts';
import type { SnapshotHeader } from './snapshot-framing.ts';
import type { KeyTable } from './key-table.ts';
import { stampedIn, ttlField, valueReader } from './state-ttl.ts';

/** The version of delta files; full snapshots keep SNAPSHOT_VERSION. */
export const DELTA_VERSION = 3;

/**
 * What a delta needs of a keyed state (keyed-state.ts KeyedState, which imports this file:
 * structural, so the two stay acyclic).
 */
export interface DeltaState {
  readonly name: string;
  readonly tables: readonly (KeyTable<unknown> | undefined)[];
  readonly writtenFrom: DeltaState | undefined;
  readonly serializer: {
    toJSON(v: unknown): unknown;
    fromJSON(j: unknown): unknown;
    write?(w: BinaryWriter, v: unknown): void;
    read?(r: BinaryReader): unknown;
  };
  takeChanged(): Map<number, Set<string>>;
  table(kg: number): KeyTable<unknown>;
}

/** Snapshots whose changes a backend keeps while no delta is taken; past it the next snapshot is full. */
const MAX_CAPTURED = 32;

/** Changed keys: state name → key group → keys. */
export type ChangedKeys = Map<string, Map<number, Set<string>>>;

/** The changed keys a backend captured at each of its snapshots since the newest base it was asked for. */
export class ChangeLog {
  private readonly captured = new Map<number, ChangedKeys>();
  /** The first snapshot after the last reset (a full one); a delta's base is never older. */
  private fullAt: number | undefined = undefined;

  /** State was replaced wholesale (restore, key groups moved): the next snapshot must be full. */
  reset(): void {
    this.captured.clear();
    this.fullAt = undefined;
  }

  /**
   * Captures the keys changed up to snapshot `id` (ids ascend). Returns every key changed since
   * snapshot `base` when a delta on it may be written, else undefined (the snapshot is full).
   */
  capture(id: number, states: readonly DeltaState[], base: number | undefined): ChangedKeys | undefined {
    const now: ChangedKeys = new Map();
    for (const s of states) {
      if (s.writtenFrom) continue;
      const c = s.takeChanged();
      if (c.size > 0) now.set(s.name, c);
    }
    this.captured.set(id, now);
    // Bases stopped coming (checkpoints failing in a row): start over rather than keep every change.
    if (this.captured.size > MAX_CAPTURED) this.reset();
    const ok = base !== undefined && this.fullAt !== undefined && base >= this.fullAt && base < id;
    this.fullAt ??= id;
    if (!ok) return undefined;
    const union: ChangedKeys = new Map();
    for (const [at, changed] of this.captured) {
      if (at <= base) {
        this.captured.delete(at);
        continue;
      }
      for (const [name, groups] of changed) {
        let u = union.get(name);
        if (!u) union.set(name, (u = new Map()));
        for (const [kg, keys] of groups) {
          const have = u.get(kg);
          if (!have) u.set(kg, new Set(keys));
          else for (const k of keys) have.add(k);
        }
      }
    }
    return union;
  }
}

export interface DeltaHeader extends SnapshotHeader {
  kind: 'delta';
  /** The checkpoint id of the snapshot this delta applies to. */
  base: number;
}

/** The header of a delta of `states` on checkpoint `o.base`. */
function deltaHeader(
  o: { maxParallelism: number; range: KeyGroupRange; owned: [number, number][] | undefined; base: number },
  states: readonly DeltaState[],
): DeltaHeader {
  return {
    format: 'tributary-keyed-state',
    version: DELTA_VERSION,
    kind: 'delta',
    base: o.base,
    hash: HASH_FUNCTION,
    maxParallelism: o.maxParallelism,
    keyGroupRange: o.range,
    ...(o.owned ? { keyGroups: o.owned } : {}),
    states: states.map((s) => s.name),
    ...ttlField(states),
  };
}

/**
 * A delta file: per key group with changes, per state with changes there, the changed keys
 * present now (key, value in TVE) and those removed (key). `owned` lists the key groups the
 * backend holds, as its full snapshots do.
 */
export function writeDelta(
  o: {
    maxParallelism: number;
    range: KeyGroupRange;
    owned: [number, number][] | undefined;
    base: number;
  },
  states: readonly DeltaState[],
  changed: ChangedKeys,
  sizeHint: number,
): Uint8Array {
  const sw = new SnapshotWriter(deltaHeader(o, states), sizeHint);
  const w = sw.w;
  const groups = new Set<number>();
  for (const g of changed.values()) for (const kg of g.keys()) groups.add(kg);
  for (const kg of [...groups].sort((a, b) => a - b)) {
    let open = false;
    for (let si = 0; si < states.length; si++) {
      const s = states[si] as DeltaState;
      const source = s.writtenFrom ?? s;
      const keys = changed.get(source.name)?.get(kg);
      if (!keys || keys.size === 0) continue;
      if (!open) {
        sw.beginSection(kg);
        open = true;
      }
      const table = source.tables[kg - o.range.start];
      const removed: string[] = [];
      const present: [string, unknown][] = [];
      for (const k of keys) {
        // Not `get`: a disk store would cache every changed key's value until its next safe point.
        const v = table?.read(k);
        if (v === undefined) removed.push(k);
        else present.push([k, v]);
      }
      w.varuint(si);
      w.varuint(present.length);
      const ser = s.serializer;
      for (const [k, v] of present) {
        w.string(k);
        if (ser.write) ser.write(w, v);
        else w.value(ser.toJSON(v));
      }
      w.varuint(removed.length);
      for (const k of removed) w.string(k);
    }
    if (open) sw.endSection();
  }
  return sw.finish();
}

export function isDeltaHeader(h: SnapshotHeader): h is DeltaHeader {
  return h.version === DELTA_VERSION;
}

/** Applies a delta's key groups inside `range` to the states (their base must be loaded already). */
export function applyDelta(
  bytes: Uint8Array,
  h: DeltaHeader,
  range: KeyGroupRange,
  stateOf: (name: string) => DeltaState,
): void {
  if (h.kind !== 'delta' || !Number.isSafeInteger(h.base))
    stateCorrupt(`a version ${DELTA_VERSION} file that is not a delta (kind ${JSON.stringify(h.kind)})`);
  if (!Array.isArray(h.states)) stateCorrupt('header lists no states');
  const r = new BinaryReader(bytes);
  const readers = new Map<string, (r: BinaryReader) => unknown>();
  for (const [kg, start, end] of snapshotSections(bytes, h, range)) {
    r.pos = start;
    r.end = end;
    while (r.pos < end) {
      const si = r.varuint();
      const name = h.states[si];
      if (typeof name !== 'string') stateCorrupt(`state index ${si} not in the delta's header (key group ${kg})`);
      const s = stateOf(name);
      const t = s.table(kg);
      let read = readers.get(name);
      if (!read) readers.set(name, (read = valueReader(s, stampedIn(h, name))));
      const puts = r.varuint();
      if (puts > end - r.pos) stateCorrupt(`${puts} entries in ${end - r.pos} bytes (key group ${kg})`);
      for (let k = 0; k < puts; k++) {
        const key = r.string();
        t.load(key, read(r));
      }
      const dels = r.varuint();
      if (dels > end - r.pos) stateCorrupt(`${dels} removals in ${end - r.pos} bytes (key group ${kg})`);
      for (let k = 0; k < dels; k++) t.load(r.string(), undefined);
    }
  }
}
