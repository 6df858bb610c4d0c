// Slot 0's live scale in of a job whose slots run in separate processes, N → N' < N, reported as a
// live rescale: the plan from a checkpoint taken now — its key-group sizes and the partitions each slot
// recorded (slot 0 cannot ask other processes' readers, as rescale-across.ts plans a scale out) — then
// SlotProcess.scaleIn: the steps move everything off slots N'..N−1, which drain, commit, leave and exit
// (rescale-leave.ts). Refused before anything moves as JobExecutor.checkRescaleAcross refuses; once
// a step began, a failure fails the job (the restart restores the last completed checkpoint).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { keyGroupSizes } from '../checkpoint/key-group-sizes.ts';
import { readMetadata } from '../checkpoint/metadata.ts';
import type { JobExecutor } from '../job/job-executor.ts';
import { DEFAULT_RESCALE_BUDGET_BYTES, type RescaleOptions } from '../rescale/rescale-local.ts';
import { partitionsOf } from '../checkpoint/recorded-partitions.ts';
import { planned, startedProgress, stepsDone, type RescaleReport } from '../rescale/rescale-progress.ts';
import type { SourceSpec } from '../graph/spec.ts';
import { planMigration, type MigrationPlan } from '../rescale/plan.ts';

export interface ScaleInAcross {
  job: Pick<JobExecutor, 'parallelism' | 'maxParallelism' | 'checkRescaleAcross' | 'triggerCheckpoint'>;
  sources: readonly SourceSpec[];
  scaleIn(plan: MigrationPlan, onStep: (done: number) => void): Promise<number>;
  logger: Logger;
}

export async function scaleInAcross(x: ScaleInAcross, to: number, o: RescaleOptions = {}): Promise<RescaleReport> {
  const from = x.job.parallelism;
  x.job.checkRescaleAcross(to);
  const m = await readMetadata((await x.job.triggerCheckpoint()).path);
  const plan = planMigration({
    maxParallelism: x.job.maxParallelism,
    from,
    to,
    keyGroupBytes: keyGroupSizes(m).bytes,
    partitions: partitionsOf(m, x.sources),
    budget: { bytes: o.budgetBytes ?? DEFAULT_RESCALE_BUDGET_BYTES },
  });
  const p = startedProgress(randomUUID(), from, to, 'moving');
  planned(p, plan);
  const report = (): void => o.onProgress?.({ ...p });
  // The lines are rescale-local.ts's, so a log reads the same whether the slots share a process or not.
  const said = { id: p.id, from, to };
  const partitions = plan.steps[0]?.partitions ?? [];
  x.logger.info({ ...said, steps: p.steps, keyGroups: p.keyGroups, partitions }, 'live rescale started');
  x.logger.info({ ...said, phase: p.phase }, 'live rescale phase');
  report();
  const draining = (): void => {
    p.phase = 'draining';
    x.logger.info({ ...said, phase: p.phase }, 'live rescale phase');
  };
  // Nothing to move (the leaving slots own nothing): they drain at once.
  if (plan.steps.length === 0) draining();
  await x.scaleIn(plan, (done) => {
    stepsDone(p, plan, done);
    x.logger.info({ id: p.id, step: done, steps: p.steps }, 'live rescale step done');
    // The last step done: the moved-off slots drain and leave next.
    if (done === plan.steps.length) draining();
    report();
  });
  p.phase = 'done';
  p.finishedAt = new Date().toISOString();
  x.logger.info(said, 'live rescale done');
  report();
  return { ...p };
}
