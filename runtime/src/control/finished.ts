// How a slot pod says that its job ran to the end of its input (additive to the operator ↔
// runtime contract, version 1; contract.ts is the rest of it). The exit code alone cannot
// say it: a slot exits 0 both at the end of its input and after a stop (SIGTERM, a
// stop-with-savepoint). So a slot whose job FINISHED — every source at its end, the final
// checkpoint completed and its sinks' commits done (exec/job-checkpointing.ts finish()), then
// its sinks closed as 'finished' — writes this JSON as its container's termination message
// (/dev/termination-log) before it exits 0; a stopped or failed slot never writes it. The
// operator reads it from the pod's containerStatuses[].state.terminated.message: a pod that
// exited 0 without it ended for another reason and counts as a failed slot.
//
// Types, constants and a pure parser only: the operator reads it through contract.ts.

/** The `tributary` field's value: what makes a termination message this one. */
export const FINISHED_MARKER = 'finished';

export interface FinishedTermination {
  readonly tributary: typeof FINISHED_MARKER;
  readonly slot: number;
  readonly deploymentId: string;
  /** Records this slot's sources read and its sinks wrote. */
  readonly recordsIn: number;
  readonly recordsOut: number;
  /**
   * Additive: this slot left the job in a live scale in (its key groups and partitions moved to the
   * remaining slots, its sinks committed the final checkpoint it took part in): the job runs on without
   * it, so this is not the end of the job's input. The operator deletes the pod.
   */
  readonly left?: true;
  /** Slot 0 with checkpointing: the job's final checkpoint (in-container path). */
  readonly lastCheckpoint?: { readonly id: number; readonly completedAt: string; readonly path: string };
}

/** The message as written (one JSON line; far below the kubelet's 4096 bytes). */
export function finishedMessage(t: Omit<FinishedTermination, 'tributary'>): string {
  return `${JSON.stringify({ tributary: FINISHED_MARKER, ...t })}\n`;
}

/** The termination message `text` if it is a finished slot's, else undefined (any other text, or none). */
export function parseFinishedMessage(text: string | undefined): FinishedTermination | undefined {
  if (!text || !text.trimStart().startsWith('{')) return undefined;
  try {
    const v = JSON.parse(text) as Partial<FinishedTermination> | null;
    if (v?.tributary !== FINISHED_MARKER || typeof v.slot !== 'number' || typeof v.deploymentId !== 'string')
      return undefined;
    return v as FinishedTermination;
  } catch {
    return undefined;
  }
}
