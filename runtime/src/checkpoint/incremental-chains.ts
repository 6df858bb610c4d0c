// The slot side of incremental checkpoints (docs/runtime/checkpoint-format.md, "Incremental
// checkpoints"): for each keyed step of the slot, the file chain (a full snapshot and the deltas
// on it) each checkpoint it acknowledged restores from, so the next checkpoint can write only a
// delta and reference that chain.
//
// Invariants. A delta names as its base only a checkpoint that (1) the coordinator saw complete
// (TriggerCheckpoint.base) and (2) this slot acknowledged with a chain for the step, kept here
// from its ack until a newer base replaces it. A completed checkpoint's metadata references every
// file of its chains, and the newest completed checkpoint is always retained, so the files a
// delta builds on are never removed while it is written.
import type { KeyedStateDelta, KeyedStateHandle } from './messages.ts';

/** Longest chain of deltas before a full snapshot is written again (bounds a restore's reads). */
export const MAX_DELTAS = 8;

/** The folder name of checkpoint `id` under `<stateDir>/checkpoints`. */
export function checkpointFolder(id: number): string {
  return `chk-${id}`;
}

export class IncrementalChains {
  /** step → checkpoint id → the handle acknowledged for it (files relative to that checkpoint's folder). */
  private readonly chains = new Map<string, Map<number, KeyedStateHandle>>();

  /** Whether step `step` may write a delta on checkpoint `base` (this slot holds its chain, and it is not too long). */
  canDelta(step: string, base: number | undefined): boolean {
    if (base === undefined) return false;
    const h = this.chains.get(step)?.get(base);
    return h !== undefined && (h.deltas?.length ?? 0) < MAX_DELTAS;
  }

  /**
   * The handle of a delta `file` written for checkpoint `id` on checkpoint `base`: the base's
   * chain, its files now referenced from `base`'s folder, then the new delta.
   */
  deltaHandle(step: string, base: number, delta: KeyedStateDelta): KeyedStateHandle {
    const h = this.chains.get(step)?.get(base);
    if (h === undefined) throw new Error(`no chain of checkpoint ${base} for step ${step}`);
    const folder = checkpointFolder(base);
    return {
      ...h,
      from: h.from ?? folder,
      deltas: [...(h.deltas ?? []).map((d) => ({ ...d, from: d.from ?? folder })), delta],
    };
  }

  /** Checkpoint `id` of step `step` was acknowledged with `handle`. */
  acknowledged(step: string, id: number, handle: KeyedStateHandle): void {
    let m = this.chains.get(step);
    if (!m) this.chains.set(step, (m = new Map()));
    m.set(id, handle);
  }

  /** Checkpoint `id` completed: older chains are no base any more (bases only grow). */
  completed(id: number): void {
    for (const m of this.chains.values()) for (const at of m.keys()) if (at < id) m.delete(at);
  }

  /** Checkpoint `id` was aborted: its chain is no base. */
  aborted(id: number): void {
    for (const m of this.chains.values()) m.delete(id);
  }
}
