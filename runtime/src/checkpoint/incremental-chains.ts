// The slot side of incremental checkpoints (docs/runtime/checkpoint-format.md, "Incremental
// checkpoints"): for each keyed step of the slot, the file chain (a full snapshot and the deltas
// on it) each checkpoint it acknowledged restores from, so the next checkpoint can write only a
// delta and reference that chain.
//
// Invariants. A delta names as its base only a checkpoint that (1) the coordinator saw complete
// (TriggerCheckpoint.base) and (2) this slot acknowledged with a chain for the step, kept here
// from its ack until a newer base replaces it. A completed checkpoint's metadata references every
// file of its chains, and the newest completed checkpoint is always retained, so the files a
// delta builds on are never removed while it is written. The one file no metadata references yet
// is a compacted base (chain-compactor.ts), written into a completed checkpoint's folder; retention
// keeps it while this slot may adopt it (compacted-base.ts). Should a checkpoint that references a
// removed file be aborted anyway (the coordinator refuses one and says so: `rewrite`), the next
// snapshot of every step is full, so no chain keeps pointing at a removed file. Any other abort
// (a timeout, a decline) leaves the completed chains as they were: a delta holds every key changed
// since its base's snapshot, so it may skip the aborted checkpoint. Were every abort to force full
// snapshots, a large state whose full snapshot outlasts the checkpoint timeout would never
// checkpoint again.
import { TributaryError } from '../errors.ts';
import type { KeyedStateDelta, KeyedStateHandle } from './messages.ts';

/**
 * Longest chain of deltas before a full snapshot is written again (bounds a restore's reads). The
 * background compaction (chain-compactor.ts) folds chains long before, unless it falls behind.
 */
export const MAX_DELTAS = 12;

/**
 * Longest chain while a compaction of the step runs (chain-compactor.ts): it will fold the chain's
 * start, and a full snapshot instead would cost what the compaction costs, on the records' path,
 * which with a large state outlasts the checkpoint timeout. The soft bound is what a large
 * state's compaction needs at a short interval; a failed compaction ends it (the next is full).
 */
export const MAX_DELTAS_COMPACTING = 4 * MAX_DELTAS;

/** The folder name of checkpoint `id` under `<stateDir>/checkpoints`. */
export function checkpointFolder(id: number): string {
  return `chk-${id}`;
}

/** Where a file of the handle acknowledged for checkpoint `owner` lives: `chk-<id>/<file>`. */
function fileKey(f: Pick<KeyedStateDelta, 'from' | 'file'>, owner: number): string {
  return `${f.from ?? checkpointFolder(owner)}/${f.file}`;
}

/** `h` (of checkpoint `owner`) with every file referenced from `owner`'s folder where it had no `from`. */
function anchored(h: KeyedStateHandle, owner: number): KeyedStateHandle {
  const folder = checkpointFolder(owner);
  return {
    ...h,
    from: h.from ?? folder,
    ...(h.deltas ? { deltas: h.deltas.map((d) => ({ ...d, from: d.from ?? folder })) } : {}),
  };
}

export class IncrementalChains {
  /** step → checkpoint id → the handle acknowledged for it (files relative to that checkpoint's folder). */
  private readonly chains = new Map<string, Map<number, KeyedStateHandle>>();
  /** A checkpoint referencing a removed file was aborted: the next snapshot of each step is full (see the header). */
  private fullNext = new Set<string>();

  /**
   * Whether step `step` may write a delta on checkpoint `base`: this slot holds its chain, and it
   * is not too long (`compacting`: a compaction of the step runs, which will shorten it).
   */
  canDelta(step: string, base: number | undefined, compacting = false): boolean {
    if (base === undefined || this.fullNext.has(step)) return false;
    const h = this.chains.get(step)?.get(base);
    return h !== undefined && (h.deltas?.length ?? 0) < (compacting ? MAX_DELTAS_COMPACTING : MAX_DELTAS);
  }

  /** A snapshot of `step` was taken (delta or full): an abort's demand for a full one is met or moot. */
  snapshotTaken(step: string, delta: boolean): void {
    if (!delta) this.fullNext.delete(step);
  }

  /**
   * The handle of a delta `file` written for checkpoint `id` on checkpoint `base`: the base's
   * chain, its files now referenced from `base`'s folder, then the new delta.
   */
  deltaHandle(step: string, base: number, delta: KeyedStateDelta): KeyedStateHandle {
    const h = this.chains.get(step)?.get(base);
    if (h === undefined) throw new TributaryError('TRIB_INVARIANT', `no chain of checkpoint ${base} for step ${step}`);
    const a = anchored(h, base);
    return { ...a, deltas: [...(a.deltas ?? []), delta] };
  }

  /** Checkpoint `id` of step `step` was acknowledged with `handle`. */
  acknowledged(step: string, id: number, handle: KeyedStateHandle): void {
    let m = this.chains.get(step);
    if (!m) this.chains.set(step, (m = new Map()));
    m.set(id, handle);
  }

  /** The chain of `step` acknowledged for checkpoint `id`, if kept. */
  chainOf(step: string, id: number): KeyedStateHandle | undefined {
    return this.chains.get(step)?.get(id);
  }

  /**
   * `base` (a file in checkpoint `id`'s folder) holds what `was`, `id`'s chain of `step`, restores:
   * every kept chain that starts with that chain starts with `base` instead. `was` is the chain
   * the compaction read: `id`'s own entry is gone once a later checkpoint completed, which at a
   * short interval happens before a large chain's compaction ends, and later chains still adopt it.
   */
  compacted(step: string, id: number, base: KeyedStateHandle, was: KeyedStateHandle): void {
    const m = this.chains.get(step);
    if (!m) return;
    const prefix = [was, ...(was.deltas ?? [])].map((f) => fileKey(f, id));
    for (const [at, h] of m) {
      if (at < id) continue;
      const files = [h, ...(h.deltas ?? [])];
      if (files.length < prefix.length || !prefix.every((k, i) => fileKey(files[i] as KeyedStateDelta, at) === k))
        continue;
      const rest = h.deltas?.slice(prefix.length - 1) ?? [];
      const head = at === id ? base : { ...base, from: checkpointFolder(id) };
      const { deltas: _, ...plain } = head;
      m.set(at, rest.length > 0 ? { ...plain, deltas: rest } : plain);
    }
  }

  /** Checkpoint `id` completed: older chains are no base any more (bases only grow). */
  completed(id: number): void {
    for (const m of this.chains.values()) for (const at of m.keys()) if (at < id) m.delete(at);
  }

  /**
   * Checkpoint `id` was aborted: its chain is no base. `rewrite`: it referenced a file retention
   * removed, so the next snapshots are full (see the header).
   */
  aborted(id: number, rewrite: boolean): void {
    for (const [step, m] of this.chains) {
      m.delete(id);
      if (rewrite) this.fullNext.add(step);
    }
  }
}
