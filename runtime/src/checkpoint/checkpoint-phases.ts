// Where a checkpoint's time goes, by phase (histogram tributary_checkpoint_phase_seconds
// {kind, phase}, and the "checkpoint completed" log line):
//   align     trigger received → the barrier aligned and passed at every task (serialization excluded)
//   snapshot  keyed state serialized (summed over a slot's tasks)
//   upload    state files written and sinks pre-committed (the slot's ack)
//   commit    last ack → metadata written (the commit point) → every slot's sinks committed
// The first three are measured by each slot on its own clock and carried in its ack
// (messages.ts SlotPhases); the coordinator records the slowest slot's figure per phase (the
// critical path; the maxima may come from different slots). Commit is the coordinator's: it
// ends when every slot reported `committed`, or at the metadata when no sink commits (a
// savepoint that does not stop the job). A slot that never reports (it died) leaves its
// checkpoint's commit unrecorded; at most MAX_COMMITTING such entries are kept.
import type { CheckpointAck, CheckpointKind, SlotPhases } from './messages.ts';

export interface CheckpointPhaseTimes extends SlotPhases {
  /** Last ack → metadata written. */
  readonly metadataMs: number;
}

export type PhaseObserver = (
  kind: CheckpointKind,
  phase: 'align' | 'snapshot' | 'upload' | 'commit',
  ms: number,
) => void;

const MAX_COMMITTING = 4;

/** The slowest slot's figure per phase. */
export function slowestSlotPhases(acks: readonly CheckpointAck[]): SlotPhases {
  let alignMs = 0;
  let snapshotMs = 0;
  let uploadMs = 0;
  for (const a of acks) {
    alignMs = Math.max(alignMs, a.phases?.alignMs ?? 0);
    snapshotMs = Math.max(snapshotMs, a.phases?.snapshotMs ?? 0);
    uploadMs = Math.max(uploadMs, a.phases?.uploadMs ?? 0);
  }
  return { alignMs, snapshotMs, uploadMs };
}

/** The commit phase of completed checkpoints whose sinks are still committing. */
export class CommitTimer {
  private readonly observe: PhaseObserver;
  private readonly waiting = new Map<number, { kind: CheckpointKind; since: number; slots: Set<number> }>();

  constructor(observe: PhaseObserver) {
    this.observe = observe;
  }

  /** Checkpoint `id`'s last ack came at `since` (performance.now()); `slots` will report their commit (0: ends now). */
  begin(id: number, kind: CheckpointKind, since: number, slots: number): void {
    if (slots === 0) {
      this.observe(kind, 'commit', performance.now() - since);
      return;
    }
    this.waiting.set(id, { kind, since, slots: new Set(Array.from({ length: slots }, (_, i) => i)) });
    for (const old of this.waiting.keys()) if (this.waiting.size > MAX_COMMITTING) this.waiting.delete(old);
  }

  committed(slot: number, id: number): void {
    const w = this.waiting.get(id);
    if (!w || !w.slots.delete(slot) || w.slots.size > 0) return;
    this.waiting.delete(id);
    this.observe(w.kind, 'commit', performance.now() - w.since);
  }
}
