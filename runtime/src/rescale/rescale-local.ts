// A live rescale of a running, checkpointing job whose slots all run in this process
// (docs/design/live-rescale.md §4, §5; JobExecutor.rescale): a real change of parallelism
// N → N' while the job reads and writes on.
//
//   scale out (N' > N): slots N..N'−1 join (join-local.ts), then the plan's steps move key groups
//     and Kafka partitions to them (LiveMigration), then the job's parallelism is N';
//   scale in (N' < N): the plan's steps move everything off slots N'..N−1, then those slots drain
//     (leave-local.ts) and leave, then the job's parallelism is N'.
//
// The plan is rescale/plan.ts's, from the key-group sizes of the last completed checkpoint and the
// partitions the sources own now; its target is exactly the formula at N' (slotForKeyGroup,
// partitionOwner), so a restart at N' afterwards finds everything where it put it. Before any
// checkpoint completed one is triggered first: its sizes make the plan's budget mean something,
// and it shows checkpoints complete before anything moves.
//
// Refused before anything moves (TRIB_RESCALE_UNSUPPORTED / TRIB_RESCALE_PLAN_INVALID): no
// checkpointing, a slot in another process, a job not RUNNING, a rescale or migration under way,
// N' outside 1..maxParallelism, key groups not where the formula at N puts them (an earlier
// migrate() left them elsewhere), and a source that cannot move its input (index sources:
// datagen, collection, file; a bounded Kafka read) — a joining slot's source must start with
// nothing to read, and a draining slot's must hand everything over.
// Once something moved, a failure fails the job (TRIB_RESCALE_STEP_FAILED): the restart restores
// the last completed checkpoint, which holds every key group and partition once.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CompletedCheckpoint } from '../checkpoint/coordinator.ts';
import { keyGroupSizes } from '../checkpoint/key-group-sizes.ts';
import { readMetadata } from '../checkpoint/metadata.ts';
import { TributaryError } from '../errors.ts';
import { planMigration, type MigrationPlan, type SourcePartition } from './plan.ts';
import type { SourceReader } from '../connectors/api.ts';
import { inSources } from './in-sources.ts';
import type { LiveMigration } from './migration.ts';
import { planned, startedProgress, stepsDone, type RescaleProgress, type RescaleReport } from './rescale-progress.ts';
import type { SlotParts } from '../exec/slot-builder.ts';

/** Bytes of state a slot sends plus receives per step, when the caller gives no budget. */
export const DEFAULT_RESCALE_BUDGET_BYTES = 4 * 1024 * 1024;

export interface RescaleOptions {
  budgetBytes?: number;
  onProgress?: (p: RescaleProgress) => void;
}

export interface LiveRescaleContext {
  maxParallelism: number;
  /** Why this job cannot rescale live at all (no checkpointing, slots elsewhere); undefined: it can. */
  unsupported: string | undefined;
  migration: LiveMigration | undefined;
  /** The job's slots now. */
  slots(): readonly SlotParts[];
  /** The job's state when not RUNNING with its loops started (undefined: it runs). */
  notRunning(): string | undefined;
  /** Resolves once the job's loops stopped (it ended or failed): a rescale under way gives up. */
  over: Promise<void>;
  lastCompleted(): CompletedCheckpoint | undefined;
  triggerCheckpoint(): Promise<CompletedCheckpoint>;
  /** The next slot joins (join-local.ts). */
  join(): Promise<void>;
  /** Slots `from`..slots()−1 drain and leave (leave-local.ts). */
  drain(from: number): Promise<void>;
  /** The job's parallelism is `n` from now on. */
  setParallelism(n: number): void;
  fail(e: unknown): void;
  logger: Logger;
}

export class LiveRescale {
  private readonly c: LiveRescaleContext;
  private current: RescaleProgress | undefined;

  constructor(c: LiveRescaleContext) {
    this.c = c;
  }

  /** The rescale under way (a copy), if any. */
  get progress(): RescaleProgress | undefined {
    return this.current && { ...this.current };
  }

  async run(to: number, opts: RescaleOptions = {}): Promise<RescaleReport> {
    const migration = this.check(to);
    const from = this.c.slots().length;
    const p = startedProgress(randomUUID(), from, to, to > from ? 'joining' : 'moving');
    this.current = p;
    const report = (): void => opts.onProgress?.({ ...p });
    let settled = from;
    // Posted work never runs in a slot whose loop stopped: a job that ends meanwhile ends the rescale too.
    const ended = this.c.over.then(() => {
      throw new TributaryError('TRIB_RESCALE_STEP_FAILED', `live rescale ${from} → ${to}: the job ended during it`);
    });
    ended.catch(() => undefined);
    try {
      await Promise.race([this.inSources((r) => r.holdNewPartitions?.()), ended]);
      const plan = await this.plan(from, to, opts.budgetBytes ?? DEFAULT_RESCALE_BUDGET_BYTES);
      planned(p, plan);
      this.c.logger.info({ id: p.id, from, to, steps: p.steps, keyGroups: p.keyGroups }, 'live rescale started');
      this.c.logger.info({ id: p.id, from, to, phase: p.phase }, 'live rescale phase');
      report();
      await Promise.race([this.carryOut(migration, plan, p, report), ended]);
      settled = to;
      p.phase = 'done';
      p.finishedAt = new Date().toISOString();
      this.c.logger.info({ id: p.id, from, to }, 'live rescale done');
      report();
      return { ...p };
    } finally {
      this.current = undefined;
      // Partitions found during the rescale were held (no owner was sure); now the rule at the parallelism the job
      // has places them. Not awaited: a slot whose loop ended (the job failed) never runs it, and need not.
      void this.inSources((r) => r.placeNewPartitions?.(settled));
    }
  }

  /** Runs `fn` on every source reader of every slot, in the slot's loop; resolves once all ran. */
  private inSources(fn: (r: SourceReader) => unknown): Promise<void> {
    return inSources(this.c.slots(), fn);
  }

  private async carryOut(m: LiveMigration, plan: MigrationPlan, p: RescaleProgress, report: () => void): Promise<void> {
    const { from, to } = p;
    // Before the first join nothing has moved: a failure of planning is the caller's alone.
    const moved = (what: string, e: unknown): TributaryError => {
      const err =
        e instanceof TributaryError && e.code === 'TRIB_RESCALE_STEP_FAILED'
          ? e
          : new TributaryError('TRIB_RESCALE_STEP_FAILED', `live rescale ${from} → ${to}: ${what}: ${String(e)}`, {
              cause: e,
            });
      this.c.fail(err);
      return err;
    };
    for (let s = from; s < to; s++) {
      try {
        await this.c.join();
      } catch (e) {
        throw moved(`slot ${s} could not join`, e);
      }
      m.resize(s + 1);
      report();
    }
    if (p.phase !== 'moving') {
      p.phase = 'moving';
      this.c.logger.info({ id: p.id, from, to, phase: p.phase }, 'live rescale phase');
    }
    report();
    try {
      await m.run(
        plan,
        () => this.c.triggerCheckpoint(),
        (done) => {
          stepsDone(p, plan, done);
          this.c.logger.info({ id: p.id, step: done, steps: p.steps }, 'live rescale step done');
          report();
        },
      );
    } catch (e) {
      throw moved('a migration step failed', e);
    }
    if (to < from) {
      p.phase = 'draining';
      this.c.logger.info({ id: p.id, from, to, phase: p.phase }, 'live rescale phase');
      report();
      try {
        await this.c.drain(to);
      } catch (e) {
        throw moved(`slots ${to}..${from - 1} could not drain`, e);
      }
      m.resize(to);
    }
    this.c.setParallelism(to);
  }

  /** The plan from the last completed checkpoint's sizes and the partitions owned now (one is taken if none is). */
  private async plan(from: number, to: number, budget: number): Promise<MigrationPlan> {
    const last = this.c.lastCompleted() ?? (await this.c.triggerCheckpoint());
    const sizes = keyGroupSizes(await readMetadata(last.path));
    const partitions: SourcePartition[] = [];
    for (const parts of this.c.slots())
      for (const src of parts.sources) {
        const topic = src.reader.movableTopic?.() as string;
        for (const partition of src.reader.ownedPartitions?.() ?? [])
          partitions.push({ source: src.sourceName, topic, partition, owner: parts.slot.index });
      }
    return planMigration({
      maxParallelism: this.c.maxParallelism,
      from,
      to,
      keyGroupBytes: sizes.bytes,
      partitions,
      budget: { bytes: budget },
    });
  }

  /** Refuses, before anything moves, a rescale this job cannot carry out now. */
  private check(to: number): LiveMigration {
    const refuse = (code: 'TRIB_RESCALE_UNSUPPORTED' | 'TRIB_RESCALE_PLAN_INVALID', why: string): never => {
      throw new TributaryError(code, `live rescale: ${why}`);
    };
    const { migration: m, maxParallelism } = this.c;
    if (this.c.unsupported !== undefined || !m) return refuse('TRIB_RESCALE_UNSUPPORTED', this.c.unsupported ?? '');
    const state = this.c.notRunning();
    if (state !== undefined) refuse('TRIB_RESCALE_UNSUPPORTED', `the job is not running (${state})`);
    if (this.current || m.busy) refuse('TRIB_RESCALE_UNSUPPORTED', 'a rescale or migration is already running');
    if (!Number.isInteger(to) || to < 1 || to > maxParallelism)
      refuse(
        'TRIB_RESCALE_PLAN_INVALID',
        `parallelism ${to} is not in 1..${maxParallelism} (the job's maxParallelism)`,
      );
    const from = this.c.slots().length;
    if (!m.settledAt(from))
      refuse(
        'TRIB_RESCALE_PLAN_INVALID',
        `key groups are not where parallelism ${from} puts them (an earlier migration)`,
      );
    for (const parts of this.c.slots())
      for (const src of parts.sources) {
        const r = src.reader;
        if (r.movableTopic?.() === undefined || !r.ownedPartitions || !r.handOverPartitions || !r.takeOverPartitions)
          refuse(
            'TRIB_RESCALE_UNSUPPORTED',
            `source "${src.sourceName}" cannot move its input between running slots: only an unbounded Kafka ` +
              'source can (an index source — datagen, collection, file — stripes its input by parallelism)',
          );
      }
    return m;
  }
}
