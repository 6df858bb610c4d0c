// The executor's status (JobExecutor.status(), the control API's source): the state, counters and
// checkpoints of the job, and what this process's slots report — their sinks' lowest watermark,
// the sources waiting for input, the outages, the load. Read from the executor's parts; changes nothing.
import type { CheckpointCoordinator } from '../checkpoint/coordinator.ts';
import { MAX_WATERMARK, MIN_WATERMARK } from '../core/watermark.ts';
import type { PublicJobState } from './job-lifecycle.ts';
import type { JobStatus } from './job-status.ts';
import type { DroppedRecordCount } from '../core/dropped-record-count.ts';
import { processNodeLoad } from './node-load.ts';
import type { OutageBoard } from '../core/outage-board.ts';
import type { SlotParts } from './slot-builder.ts';
import { processLoad } from './slot-load.ts';

export interface JobStatusParts {
  state: PublicJobState;
  parallelism: number;
  recordsIn: number;
  recordsOut: number;
  slots: readonly SlotParts[];
  coordinator: CheckpointCoordinator | undefined;
  restoredFrom: string | undefined;
  error: unknown;
  outages: OutageBoard;
  /** Slot 0: partitions no slot reads (unowned-partitions.ts). */
  unread?: () => { source: string; topic: string; partitions: number[] }[];
  /** Records this process's steps dropped, per step and error. */
  dropped?: readonly DroppedRecordCount[];
}

export function jobStatusOf(j: JobStatusParts): JobStatus {
  let wm = MAX_WATERMARK;
  let any = false;
  for (const p of j.slots) {
    for (const k of p.sinks) {
      any = true;
      if (k.watermarkSeen < wm) wm = k.watermarkSeen;
    }
  }
  const st: JobStatus = {
    state: j.state,
    parallelism: j.parallelism,
    recordsIn: j.recordsIn,
    recordsOut: j.recordsOut,
    watermark: any ? wm : MIN_WATERMARK,
  };
  let newest = Number.NEGATIVE_INFINITY;
  for (const p of j.slots) for (const src of p.sources) newest = Math.max(newest, src.newestTimestamp);
  if (any && Number.isFinite(newest) && wm > MIN_WATERMARK && wm < MAX_WATERMARK)
    st.watermarkLagMs = Math.max(0, newest - wm);
  if (j.coordinator?.lastCompleted) st.lastCheckpoint = j.coordinator.lastCompleted;
  if (j.coordinator) st.recentCheckpoints = j.coordinator.history.recent();
  if (j.restoredFrom) st.restoredFrom = j.restoredFrom;
  if (j.error !== undefined) st.error = (j.error as Error).message;
  const waiting = new Map<string, { source: string; topic: string; since: string }>();
  for (const p of j.slots) {
    for (const src of p.sources) {
      const w = src.waitingFor;
      const seen = waiting.get(src.sourceName);
      if (w && (!seen || w.since < seen.since))
        waiting.set(src.sourceName, { source: src.sourceName, topic: w.topic, since: w.since });
    }
  }
  if (waiting.size > 0) st.waitingForInput = [...waiting.values()];
  const unread = j.unread?.() ?? [];
  if (unread.length > 0) st.unreadPartitions = unread;
  const unavailable = j.outages.list();
  if (unavailable.length > 0) st.unavailable = unavailable;
  if (j.dropped && j.dropped.length > 0) st.recordsDropped = [...j.dropped];
  const load = processLoad(j.slots);
  if (load) st.load = load;
  const nodes = processNodeLoad(j.slots);
  if (nodes) st.nodes = nodes;
  return st;
}
