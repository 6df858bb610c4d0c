// Folds a chain — a full snapshot (version 2) and the deltas on it (version 3), oldest first —
// into one full snapshot of the same state, byte for byte: keys are read, values are skipped
// over and copied as their TVE bytes, so no value is decoded or re-encoded. This is the
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
import { readSnapshotHeader, snapshotSections, SnapshotWriter, SNAPSHOT_VERSION } from './snapshot-format.ts';
import type { SnapshotHeader } from './snapshot-framing.ts';

/** Whether the merged snapshot keeps an entry of `state` (its value as TVE bytes); made from the newest header. */
export type MergeFilter = (newest: SnapshotHeader) => ((state: string, value: Uint8Array) => boolean) | undefined;

/** state name → key → TVE bytes of its value. */
type Group = Map<string, Map<string, Uint8Array>>;

/** Each key group's sections, per file of the chain. */
function sectionsOf(bytes: Uint8Array, h: SnapshotHeader): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  for (const [kg, start, end] of snapshotSections(bytes, h)) out.set(kg, [start, end]);
  return out;
}

function applySection(
  g: Group,
  bytes: Uint8Array,
  h: SnapshotHeader,
  start: number,
  end: number,
  delta: boolean,
): void {
  const r = new BinaryReader(bytes, start, end);
  while (r.pos < end) {
    const si = r.varuint();
    const name = h.states[si];
    if (typeof name !== 'string') stateCorrupt(`state index ${si} not in the header`);
    let m = g.get(name);
    if (!m) g.set(name, (m = new Map()));
    const n = r.varuint();
    for (let i = 0; i < n; i++) {
      const key = r.string();
      const at = r.pos;
      r.skipValue();
      m.set(key, bytes.subarray(at, r.pos));
    }
    if (!delta) continue;
    const removed = r.varuint();
    for (let i = 0; i < removed; i++) m.delete(r.string());
  }
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
  if (!first || first.version !== SNAPSHOT_VERSION || headers.slice(1).some((h) => !isDeltaHeader(h)))
    stateCorrupt('a chain to merge is a version 2 snapshot followed by deltas');
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
      version: SNAPSHOT_VERSION,
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
    const g: Group = new Map();
    chain.forEach((bytes, i) => {
      const at = sections[i]?.get(kg);
      if (at) applySection(g, bytes, headers[i] as SnapshotHeader, at[0], at[1], i > 0);
    });
    sw.beginSection(kg);
    states.forEach((name, si) => {
      const m = g.get(name);
      if (m && keep) for (const [key, value] of m) if (!keep(name, value)) m.delete(key);
      if (!m || m.size === 0) return;
      w.varuint(si);
      w.varuint(m.size);
      for (const [key, value] of m) {
        w.string(key);
        w.bytes(value);
      }
    });
    sw.endSection();
    await pause();
  }
  return sw.finish();
}
