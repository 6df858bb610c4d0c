// Folds a chain — a full snapshot (version 2) and the deltas on it (version 3), oldest first —
// into one full snapshot of the same state, byte for byte: keys are read, values are skipped
// over and copied as their TVE bytes, so no value is decoded or re-encoded, and only the keys the
// deltas changed are held in maps (the base's entries are copied as runs of bytes). This is the
// background compaction of incremental checkpoints (checkpoint/chain-compactor.ts): a restore
// then reads one file instead of the chain.
//
// Invariant: restoring the result gives exactly the state restoring the chain gives (the same
// key groups, states, keys and values), less the entries a `keep` filter drops (TTL'd states:
// the entries already expired, state-ttl.ts, which no reader could be given anyway); the
// result's header is the newest file's (its range and owned key groups, which every file of a
// chain shares).
import { BinaryReader, stateCorrupt } from './binary-reader.ts';
import { isDeltaHeader } from './keyed-delta.ts';
import {
  fullSnapshotVersion,
  readSnapshotHeader,
  snapshotSections,
  SnapshotWriter,
  SNAPSHOT_VERSION,
  TTL_SNAPSHOT_VERSION,
} from './snapshot-format.ts';
import type { SnapshotHeader } from './snapshot-framing.ts';

/** Whether the merged snapshot keeps an entry of `state` (its value as TVE bytes); made from the newest header. */
export type MergeFilter = (newest: SnapshotHeader) => ((state: string, value: Uint8Array) => boolean) | undefined;
type Keep = ((state: string, value: Uint8Array) => boolean) | undefined;

/** state name → key → TVE bytes of its value now, or null: removed. */
type Changes = Map<string, Map<string, Uint8Array | null>>;

/** Each key group's sections, per file of the chain. */
function sectionsOf(bytes: Uint8Array, h: SnapshotHeader): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  for (const [kg, start, end] of snapshotSections(bytes, h)) out.set(kg, [start, end]);
  return out;
}

function stateName(h: SnapshotHeader, si: number): string {
  const name = h.states[si];
  return typeof name === 'string' ? name : stateCorrupt(`state index ${si} not in the header`);
}

/** A delta's section folded into `c`: a later delta's entry for a key replaces an earlier one's. */
function addChanges(c: Changes, bytes: Uint8Array, h: SnapshotHeader, start: number, end: number): void {
  const r = new BinaryReader(bytes, start, end);
  while (r.pos < end) {
    const name = stateName(h, r.varuint());
    let m = c.get(name);
    if (!m) c.set(name, (m = new Map()));
    const n = r.varuint();
    for (let i = 0; i < n; i++) {
      const key = r.string();
      const at = r.pos;
      r.skipValue();
      m.set(key, bytes.subarray(at, r.pos));
    }
    const removed = r.varuint();
    for (let i = 0; i < removed; i++) m.set(r.string(), null);
  }
}

/** What one state of a key group becomes: runs of the base's entry bytes kept as they are, then the changed entries. */
interface Merged {
  count: number;
  runs: Uint8Array[];
}

/**
 * The base's section of a key group, streamed: an entry whose key a delta changed is left out,
 * every other entry stays, copied as contiguous runs of bytes (no map of the base's keys).
 */
function keptOfBase(
  bytes: Uint8Array,
  h: SnapshotHeader,
  at: [number, number],
  c: Changes,
  keep: Keep,
): Map<string, Merged> {
  const [start, end] = at;
  const out = new Map<string, Merged>();
  const r = new BinaryReader(bytes, start, end);
  while (r.pos < end) {
    const name = stateName(h, r.varuint());
    const changed = c.get(name);
    const m: Merged = out.get(name) ?? { count: 0, runs: [] };
    out.set(name, m);
    const n = r.varuint();
    let run = r.pos;
    for (let i = 0; i < n; i++) {
      const entry = r.pos;
      const key = r.string();
      const value = r.pos;
      r.skipValue();
      const dropped = changed?.has(key) === true || (keep !== undefined && !keep(name, bytes.subarray(value, r.pos)));
      if (dropped) {
        if (entry > run) m.runs.push(bytes.subarray(run, entry));
        run = r.pos;
      } else m.count++;
    }
    if (r.pos > run) m.runs.push(bytes.subarray(run, r.pos));
  }
  return out;
}

/**
 * One full snapshot of what `chain` restores. Yields to the event loop (`pause`) between key
 * groups, so a slot's records keep flowing while it runs.
 */
export async function mergeChain(
  chain: readonly Uint8Array[],
  pause: () => Promise<void>,
  filter?: MergeFilter,
): Promise<Uint8Array> {
  const headers = chain.map((b) => readSnapshotHeader(b));
  const first = headers[0];
  const full = first?.version === SNAPSHOT_VERSION || first?.version === TTL_SNAPSHOT_VERSION;
  if (!first || !full || headers.slice(1).some((h) => !isDeltaHeader(h)))
    stateCorrupt('a chain to merge is a version 2 (or 4) snapshot followed by deltas');
  const states: string[] = [];
  for (const h of headers) for (const s of h.states) if (!states.includes(s)) states.push(s);
  const newest = headers[headers.length - 1] as SnapshotHeader;
  const keep = filter?.(newest);
  const sections = chain.map((b, i) => sectionsOf(b, headers[i] as SnapshotHeader));
  const groups = new Set<number>();
  for (const s of sections) for (const kg of s.keys()) groups.add(kg);
  const size = chain.reduce((n, b) => n + b.length, 0);
  const sw = new SnapshotWriter(
    {
      format: 'tributary-keyed-state',
      version: fullSnapshotVersion(newest),
      hash: newest.hash,
      maxParallelism: newest.maxParallelism,
      keyGroupRange: newest.keyGroupRange,
      ...(newest.keyGroups ? { keyGroups: newest.keyGroups } : {}),
      states,
      ...(newest.ttl ? { ttl: newest.ttl } : {}),
    },
    size,
  );
  const w = sw.w;
  for (const kg of [...groups].sort((a, b) => a - b)) {
    const changes: Changes = new Map();
    for (let i = 1; i < chain.length; i++) {
      const at = sections[i]?.get(kg);
      if (at) addChanges(changes, chain[i] as Uint8Array, headers[i] as SnapshotHeader, at[0], at[1]);
    }
    const b = sections[0]?.get(kg);
    const kept = b ? keptOfBase(chain[0] as Uint8Array, first, b, changes, keep) : new Map<string, Merged>();
    sw.beginSection(kg);
    states.forEach((name, si) => {
      const m = kept.get(name) ?? { count: 0, runs: [] };
      const puts = [...(changes.get(name) ?? [])].filter(
        (e): e is [string, Uint8Array] => e[1] !== null && (keep === undefined || keep(name, e[1])),
      );
      if (m.count + puts.length === 0) return;
      w.varuint(si);
      w.varuint(m.count + puts.length);
      for (const run of m.runs) w.bytes(run);
      for (const [key, value] of puts) {
        w.string(key);
        w.bytes(value);
      }
    });
    sw.endSection();
    await pause();
  }
  return sw.finish();
}
