// What a live rescale reports while it runs and when it is done (JobExecutor.rescale): the
// contract's MigrationStatus (core/migration.ts) without the tracker's outcome fields, so the
// control API serves it as is (plain JSON, no class, no Date).
import type { MigrationPhase, MigrationStatus } from '../core/migration.ts';
import type { MigrationPlan } from './plan.ts';

export type RescalePhase = MigrationPhase;

/** Counts are the plan's: key groups and bytes (the sizes of the checkpoint it was made from) moved, of all. */
export type RescaleProgress = {
  -readonly [K in keyof Omit<MigrationStatus, 'state' | 'error' | 'code'>]: MigrationStatus[K];
};

/** The progress at the end (phase 'done', finishedAt set). */
export type RescaleReport = RescaleProgress;

/** A rescale from `from` to `to` that has moved nothing yet, started now. */
export function startedProgress(id: string, from: number, to: number, phase: RescalePhase): RescaleProgress {
  const none = { stepsDone: 0, steps: 0, keyGroupsMoved: 0, keyGroups: 0, bytesMoved: 0, bytes: 0 };
  return { id, from, to, phase, ...none, startedAt: new Date().toISOString() };
}

/** Sets `p`'s totals to `plan`'s. */
export function planned(p: RescaleProgress, plan: MigrationPlan): void {
  Object.assign(p, { steps: plan.steps.length, keyGroups: plan.movedKeyGroups, bytes: plan.totalBytes });
}

/** Sets `p`'s counts to what the first `done` steps of `plan` moved. */
export function stepsDone(p: RescaleProgress, plan: MigrationPlan, done: number): void {
  const steps = plan.steps.slice(0, done);
  p.stepsDone = done;
  p.keyGroupsMoved = steps.reduce((n, st) => n + st.keyGroups.length, 0);
  p.bytesMoved = steps.reduce((n, st) => n + st.bytes, 0);
}
