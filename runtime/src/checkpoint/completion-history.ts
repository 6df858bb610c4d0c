// The checkpoints and savepoints a coordinator completed in this run, newest first, bounded: what
// the control API reports (StatusResponse.recentCheckpoints) so a reader that polls less often
// than checkpoints complete (the dashboards) still lists every one of them.
import type { CheckpointPhaseTimes } from './checkpoint-phases.ts';
import type { CheckpointKind } from './messages.ts';

export interface CompletedCheckpoint {
  id: number;
  kind: CheckpointKind;
  path: string;
  completedAt: string;
  durationMs: number;
  stateSize: number;
  /** Bytes of every state file it references (incremental checkpoints share older files); absent: stateSize. */
  fullStateSize?: number;
  /** Every slot acknowledged with all its tasks finished: the job's final checkpoint (end of input). */
  final?: boolean;
  /** Where the time went up to the metadata (the commit phase's sink part is recorded later). */
  phases?: CheckpointPhaseTimes;
}

/** Completions kept: a reader polling every few seconds misses none at any sensible interval. */
export const RECENT_COMPLETIONS = 10;

export class CompletionHistory {
  private readonly done: CompletedCheckpoint[] = [];

  record(c: CompletedCheckpoint): void {
    this.done.unshift(c);
    if (this.done.length > RECENT_COMPLETIONS) this.done.length = RECENT_COMPLETIONS;
  }

  /** Newest first, at most RECENT_COMPLETIONS. */
  recent(): readonly CompletedCheckpoint[] {
    return this.done.slice();
  }
}
