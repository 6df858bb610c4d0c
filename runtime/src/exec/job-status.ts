// What a job executor reports while it runs (status(), the control API's source) and when it
// ended (run()'s result). Shapes are public: the CLI, the control API and tests read them.
import type { DependencyOutage } from '../core/outage.ts';
import type { NodeLoad, SlotLoad } from '../control/contract.ts';
import type { CompletedCheckpoint } from '../checkpoint/coordinator.ts';
import type { PublicJobState } from './job-lifecycle.ts';
import type { DroppedRecordCount } from '../core/dropped-record-count.ts';

export interface JobStatus {
  state: PublicJobState;
  parallelism: number;
  recordsIn: number;
  recordsOut: number;
  /** Lowest watermark that reached the sinks (MIN when none yet). */
  watermark: number;
  /** Newest event time the sources of this process have seen minus `watermark` (while both are known). */
  watermarkLagMs?: number;
  lastCheckpoint?: CompletedCheckpoint;
  /** Checkpoints and savepoints completed in this run, newest first (completion-history.ts). */
  recentCheckpoints?: readonly CompletedCheckpoint[];
  restoredFrom?: string;
  error?: string;
  /** Sources of this process's slots that wait for their input to exist (each source once). */
  waitingForInput?: { source: string; topic: string; since: string }[];
  /** Slot 0: partitions of a Kafka source's topic no slot reads (unowned-partitions.ts). */
  unreadPartitions?: { source: string; topic: string; partitions: number[] }[];
  /** External dependencies this process's components cannot reach now (each dependency and component once). */
  unavailable?: DependencyOutage[];
  /** Load counters of this process's slots (one's, or their average: slot-load.ts processLoad); none before run. */
  load?: SlotLoad;
  /** Per node of this process's slots, counters summed (node-load.ts processNodeLoad); none before any count. */
  nodes?: NodeLoad[];
  /** Records this process's steps dropped on failed expressions or functions, per step and error; none before one. */
  recordsDropped?: DroppedRecordCount[];
}

export interface JobResult {
  state: 'FINISHED' | 'STOPPED';
  recordsIn: number;
  recordsOut: number;
  durationMs: number;
  /** Records the steps dropped, per step and error (exec/dropped-records.ts); absent when none. */
  recordsDropped?: DroppedRecordCount[];
}
