// One run of a started job: open the sinks, then the lookup tables, then the sources (so
// nothing is read before it can be written), start the coordinator, run every slot's loop
// to its end, let checkpointing finish (final checkpoint or stop-with-savepoint, commits),
// then close the sinks, and the sources after them (without checkpoints a source commits its
// position in between, and while it runs behind commit barriers: at-least-once). On failure
// every slot stops, commits already under way settle, and sinks close as 'failed' (nothing is
// committed or aborted that a restart would need).
import type { Logger } from 'pino';
import { reportCoordinatorStart } from '../checkpoint/completion-report.ts';
import type { CloseOutcome } from '../connectors/api.ts';
import { TributaryError } from '../errors.ts';
import type { JobCheckpointing } from './job-checkpointing.ts';
import type { JobCommitBarriers } from './job-commit-barriers.ts';
import type { JobFailure } from './job-failure.ts';
import type { JobLifecycle } from './job-lifecycle.ts';
import type { JobExecutorOptions } from './job-options.ts';
import { watchHeapLimit } from './heap-limit-watch.ts';
import type { SinkOpening } from './sink-opening.ts';
import type { SlotParts } from './slot-builder.ts';

/**
 * The loops of the job's slots: those it starts with, and those that join it while it runs (live rescale:
 * join-local.ts). A failure of any aborts every slot there is; the run ends once every loop started has ended.
 */
export class SlotLoops {
  private readonly slots: () => readonly SlotParts[];
  private readonly loops = new Set<Promise<void>>();
  private readonly bySlot = new Map<SlotParts, Promise<void>>();
  /** The sinks, tables and sources are open and the loops run: a slot may join now (see runTasks). */
  running = false;
  private endRun: () => void = () => undefined;
  private startRun: () => void = () => undefined;
  /** Resolves once the loops run (`running` turned true): a joining slot process reports its slot built then. */
  readonly started = new Promise<void>((r) => (this.startRun = r));
  /** Resolves once the loops stopped running (the job ends or failed): a rescale under way gives up then. */
  readonly over = new Promise<void>((r) => (this.endRun = r));

  /** `slots`: every slot of the job now (the executor's list, which a live rescale changes). */
  constructor(slots: () => readonly SlotParts[]) {
    this.slots = slots;
  }

  start(p: SlotParts): void {
    const loop = p.slot.run().catch((e: unknown) => {
      for (const other of this.slots()) other.slot.abort();
      throw e;
    });
    this.loops.add(loop);
    this.bySlot.set(p, loop);
  }

  markStarted(): void {
    this.startRun();
  }

  /** The loops stopped running (runTasks). */
  stop(): void {
    this.running = false;
    this.endRun();
  }

  /** Resolves once `p`'s loop ended (a draining slot's tasks all finished: leave-local.ts). */
  loopOf(p: SlotParts): Promise<void> {
    return this.bySlot.get(p) ?? Promise.reject(new TributaryError('TRIB_INVARIANT', `slot ${p.slot.index} never ran`));
  }

  /** Resolves once every loop started, also while waiting, has ended; rejects with the first failure. */
  async ended(): Promise<void> {
    for (let n = -1; n !== this.loops.size;) {
      n = this.loops.size;
      await Promise.all(this.loops);
    }
  }
}

export interface JobRun {
  /** The job's slots now: a live rescale adds and removes some while it runs (read again at the end). */
  slots: readonly SlotParts[];
  loops: SlotLoops;
  parallelism: number;
  maxParallelism: number;
  /** Tasks of the plan (logged). */
  tasks: number;
  job: JobExecutorOptions;
  /** The writers of `slots`' sinks: opened first (possibly under way already). */
  sinkOpening: SinkOpening;
  logger: Logger;
  lifecycle: JobLifecycle;
  failure: JobFailure;
  checkpoints: JobCheckpointing;
  /** Without checkpoints: the periodic commit of source positions behind the sinks (absent: turned off). */
  commitBarriers?: JobCommitBarriers | undefined;
}

/** Runs the started job to its end; resolves FINISHED or STOPPED, rejects with a TributaryError. */
export async function runTasks(r: JobRun): Promise<'FINISHED' | 'STOPPED'> {
  const { slots, job, logger, lifecycle, failure, checkpoints } = r;
  // Every writer opened, whether or not a task holds it: each is closed once, here (those of slots that joined too;
  // a slot that drained closed its own and left the list).
  const writers = () => r.sinkOpening.writers;
  const sources = () => slots.flatMap((p) => p.sources);
  const tables = () => slots.flatMap((p) => p.tables);
  const heap = watchHeap(r);
  try {
    await r.sinkOpening.open();
    await Promise.all(tables().map((t) => t.open()));
    await Promise.all(sources().map((s) => s.open()));
    await checkpoints.coordinator?.start();
    // The checkpoint-stall alert's clock (charts/tributary/rules) starts here: a checkpoint is due one interval on.
    if (checkpoints.coordinator) reportCoordinatorStart(job.checkpointing?.intervalMs ?? 0, job.metrics);
    r.commitBarriers?.start();
    startLoops(r);
    await r.loops.ended();
    heap.stop();
    r.loops.stop();
    // A commit under way settles before the final commit (outputDelivered below): commits only move forward.
    await r.commitBarriers?.stop();
    failure.throwIfFailed();
    if (job.checkpointing) await checkpoints.finish();
  } catch (e) {
    heap.stop();
    r.loops.stop();
    lifecycle.transition('FAILED');
    failure.record(e);
    for (const p of slots) p.checkpointer?.sinksClosed('the job failed: its sinks are closing');
    // Not awaited: a commit under way covers acknowledged output only, and its retries against a broker that is down
    // must not hold the failure (no final commit follows a failure for it to overtake).
    void r.commitBarriers?.stop();
    await checkpoints.abandon();
    closeLocal(slots);
    await Promise.allSettled([...sources().map((s) => s.close()), ...writers().map((w) => w.close('failed'))]);
    if (e instanceof TributaryError) throw e;
    throw new TributaryError('TRIB_JOB_FAILED', `job failed: ${(e as Error).message}`, { cause: e });
  }
  closeLocal(slots);
  const outcome: CloseOutcome = lifecycle.stopRequested ? 'stopped' : 'finished';
  // From here no checkpoint may be acknowledged: a closed sink cannot vouch for its output (slot-checkpointer.ts).
  for (const p of slots) p.checkpointer?.sinksClosed(`the job ended (${outcome}): its sinks are closing`);
  // Sources close after the sinks: a run without checkpoints commits its sources' final positions only
  // once the sinks flushed what they read (SourceReader.commitPosition).
  try {
    await Promise.all(writers().map((w) => w.close(outcome)));
    if (!job.checkpointing && nothingHeldBack(slots)) {
      await Promise.all(
        sources().map((s) =>
          s
            .outputDelivered()
            .catch((e: unknown) =>
              logger.error(
                { err: (e as Error).message },
                'source positions not committed: the next run reads again from the last commit (duplicates, nothing lost)',
              ),
            ),
        ),
      );
    }
  } finally {
    await Promise.all(sources().map((s) => s.close()));
  }
  return lifecycle.end();
}

/** Every slot's loop runs from here: the job is running. */
function startLoops(r: JobRun): void {
  const stateBackend = r.job.stateBackend?.kind ?? 'heap';
  r.logger.info(
    { parallelism: r.parallelism, maxParallelism: r.maxParallelism, tasks: r.tasks, stateBackend },
    'job running',
  );
  for (const p of r.slots) r.loops.start(p);
  r.loops.running = true;
  r.loops.markStarted();
}

/**
 * The job's last snapshot is taken: lookup tables close, and local state stores go with their
 * files (only caches of what checkpoints hold).
 */
export function closeLocal(slots: readonly SlotParts[]): void {
  for (const p of slots) {
    for (const t of p.tables) t.close();
    for (const op of p.stateful) op.keyedBackend?.close();
  }
}

/** A heap that no longer fits its state fails the job with the limit named (heap-limit-watch.ts). */
function watchHeap(r: JobRun): { stop(): void } {
  return watchHeapLimit({
    onLimit: (e) => {
      r.logger.error({ code: e.code, err: e.message }, 'job failing: out of heap');
      r.failure.record(e);
      for (const p of r.slots) p.slot.abort();
    },
    describe: () => heldKeys(r.slots),
  });
}

/** Keys per stateful step of this process's slots, largest first: what fills a heap. */
function heldKeys(slots: readonly SlotParts[]): string {
  const keys = new Map<string, number>();
  for (const p of slots)
    for (const op of p.stateful) {
      const n = op.keyedBackend?.keyCount();
      if (n !== undefined) keys.set(op.stateName, (keys.get(op.stateName) ?? 0) + n);
    }
  const steps = [...keys].sort((a, b) => b[1] - a[1]);
  return steps.length ? steps.map(([step, n]) => `${n.toLocaleString('en')} keys in step ${step}`).join(', ') : 'none';
}

/**
 * Every record the sources returned has taken its effect on the sinks: the job keeps no operator
 * state, or every source ended with the final watermark (end of input, a stop with drain), which
 * fires every window. Else a stop leaves records in open windows, and committing past them would
 * lose them.
 */
function nothingHeldBack(slots: readonly SlotParts[]): boolean {
  return (
    slots.every((p) => p.stateful.length === 0) || slots.every((p) => p.sources.every((s) => s.endedWithFinalWatermark))
  );
}
