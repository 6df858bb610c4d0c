// What a live rescale reports while it runs and when it is done (JobExecutor.rescale; the control
// API serves it as is: plain JSON, no class, no Date).

export type RescalePhase = 'joining' | 'moving' | 'draining' | 'done';

export interface RescaleProgress {
  id: string;
  from: number;
  to: number;
  phase: RescalePhase;
  /** Migration steps done, of `steps`. */
  stepsDone: number;
  steps: number;
  /** Key groups whose move is done, of `keyGroups` (the plan's). */
  keyGroupsMoved: number;
  keyGroups: number;
  /** Bytes of state moved so far, of `bytes` (sizes of the checkpoint the plan was made from). */
  bytesMoved: number;
  bytes: number;
  /** ISO times. */
  startedAt: string;
  finishedAt?: string;
}

/** The progress at the end (phase 'done', finishedAt set). */
export type RescaleReport = RescaleProgress;
