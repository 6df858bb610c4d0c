// A live rescale of a job whose slots run in separate processes, scale out by one slot
// (JobExecutor.rescale on slot 0, when its slots are elsewhere): the joining slot process is
// linked already (the caller told the running slots of the generation and added the peer:
// join-link.ts); then, as rescale-local.ts does in one process:
//
//   join     the slot is built, wired in and admitted as a checkpoint member (join-across.ts);
//   plan     rescale/plan.ts's plan N → N+1 from a checkpoint taken after the join: its key-group
//            sizes, and its source positions for the partitions and their owners (every slot's,
//            which slot 0 cannot ask its readers for);
//   moving   JobExecutor.migrate's step protocol carries it out (migration.ts).
//
// One slot at a time: a joining process is built at its generation's parallelism with inputs from
// every slot of it, so a second joiner not yet wired would hold the first one's barriers. Scale in
// across processes is not here. Refused before anything changes (TRIB_RESCALE_UNSUPPORTED /
// TRIB_RESCALE_PLAN_INVALID) as rescale-local.ts refuses; once the join began, a failure fails the
// job (TRIB_RESCALE_STEP_FAILED): the restart restores the last completed checkpoint.
//
// Partitions slots discover meanwhile are held from before the join and placed at N+1 once done, by
// the caller (rescale/placement.ts), so the plan's checkpoint lists every partition a slot owns.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CompletedCheckpoint } from '../checkpoint/coordinator.ts';
import { keyGroupSizes } from '../checkpoint/key-group-sizes.ts';
import { readMetadata } from '../checkpoint/metadata.ts';
import { TributaryError } from '../errors.ts';
import type { SourceSpec } from '../graph/spec.ts';
import { planMigration } from './plan.ts';
import { partitionsOf } from '../checkpoint/recorded-partitions.ts';
import type { LiveMigration } from './migration.ts';
import { DEFAULT_RESCALE_BUDGET_BYTES, type RescaleOptions } from './rescale-local.ts';
import type { JoinAcross } from './join-across.ts';
import { planned, startedProgress, stepsDone, type RescaleReport } from './rescale-progress.ts';

export interface RescaleAcrossContext {
  join: Pick<JoinAcross, 'join'>;
  migration: Pick<LiveMigration, 'run' | 'busy' | 'settledAt'>;
  maxParallelism: number;
  sources: readonly SourceSpec[];
  /** The job's parallelism now. */
  parallelism(): number;
  /** The job's state when not RUNNING with its loops started (undefined: it runs). */
  notRunning(): string | undefined;
  triggerCheckpoint(): Promise<CompletedCheckpoint>;
  setParallelism(n: number): void;
  fail(e: unknown): void;
  logger: Logger;
}

/**
 * Throws why the job cannot rescale to `to` across processes now (nothing changes either way): one
 * joining slot (`to` = N+1), or with `whole` any target a sequence of joins or one scale in reaches.
 */
export function checkAcross(
  c: Pick<RescaleAcrossContext, 'parallelism' | 'notRunning' | 'migration' | 'maxParallelism' | 'sources'>,
  to: number,
  whole = false,
): void {
  const from = c.parallelism();
  const refuse = (code: 'TRIB_RESCALE_UNSUPPORTED' | 'TRIB_RESCALE_PLAN_INVALID', why: string): never => {
    throw new TributaryError(code, `live rescale ${from} → ${to} across processes: ${why}`);
  };
  const state = c.notRunning();
  if (state !== undefined) refuse('TRIB_RESCALE_UNSUPPORTED', `the job is not running (${state})`);
  if (c.migration.busy) refuse('TRIB_RESCALE_UNSUPPORTED', 'a rescale or migration is already running');
  if (!Number.isInteger(to) || to < 1 || to > c.maxParallelism)
    refuse(
      'TRIB_RESCALE_PLAN_INVALID',
      `parallelism ${to} is not in 1..${c.maxParallelism} (the job's maxParallelism)`,
    );
  if (to === from) refuse('TRIB_RESCALE_PLAN_INVALID', `the job runs at parallelism ${from} already`);
  if (!whole && to !== from + 1)
    refuse('TRIB_RESCALE_UNSUPPORTED', 'slot processes join one at a time (scale out by one slot; no scale in here)');
  if (!c.migration.settledAt(from))
    refuse(
      'TRIB_RESCALE_PLAN_INVALID',
      `key groups are not where parallelism ${from} puts them (an earlier migration)`,
    );
  for (const s of c.sources)
    if (!s.kafka || s.kafka.bounded)
      refuse(
        'TRIB_RESCALE_UNSUPPORTED',
        `source "${s.name}" cannot move its input: only an unbounded Kafka source can`,
      );
}

export async function rescaleAcross(
  c: RescaleAcrossContext,
  to: number,
  o: RescaleOptions = {},
): Promise<RescaleReport> {
  const from = c.parallelism();
  checkAcross(c, to);
  const p = startedProgress(randomUUID(), from, to, 'joining');
  const report = (): void => o.onProgress?.({ ...p });
  // The phase lines are rescale-local.ts's, so a log reads the same whether the slots share a process or not.
  c.logger.info({ id: p.id, from, to, phase: p.phase }, 'live rescale phase');
  report();
  // A join that fails decides itself whether the job fails (join-across.ts: only once wiring began).
  await c.join.join(from);
  try {
    const m = await readMetadata((await c.triggerCheckpoint()).path);
    const plan = planMigration({
      maxParallelism: c.maxParallelism,
      from,
      to,
      keyGroupBytes: keyGroupSizes(m).bytes,
      partitions: partitionsOf(m, c.sources),
      budget: { bytes: o.budgetBytes ?? DEFAULT_RESCALE_BUDGET_BYTES },
    });
    planned(p, plan);
    p.phase = 'moving';
    c.logger.info(
      { id: p.id, from, to, steps: p.steps, keyGroups: p.keyGroups, partitions: plan.steps[0]?.partitions ?? [] },
      'live rescale across processes',
    );
    c.logger.info({ id: p.id, from, to, phase: p.phase }, 'live rescale phase');
    report();
    await c.migration.run(plan, c.triggerCheckpoint, (done) => {
      stepsDone(p, plan, done);
      c.logger.info({ id: p.id, step: done, steps: p.steps }, 'live rescale step done');
      report();
    });
  } catch (e) {
    // The slot joined: the job cannot run on as it was (the restart restores the last completed checkpoint).
    const err =
      e instanceof TributaryError && e.code === 'TRIB_RESCALE_STEP_FAILED'
        ? e
        : new TributaryError('TRIB_RESCALE_STEP_FAILED', `live rescale ${from} → ${to}: ${String(e)}`, { cause: e });
    c.fail(err);
    throw err;
  }
  c.setParallelism(to);
  p.phase = 'done';
  p.finishedAt = new Date().toISOString();
  c.logger.info({ id: p.id, from, to }, 'live rescale done');
  report();
  return { ...p };
}
