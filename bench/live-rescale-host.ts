// Where bench/live-rescale.ts runs the job's slots, behind one interface so the same schedule and
// figures apply to each: in one process (InProcessHost: one JobExecutor runs every slot, as
// `tributary run --single-thread`), or as `tributary run --threads|--distributed` runs them
// (live-rescale-cli.ts). Every wait fails as soon as the job failed: figures of a failed job are
// not figures.
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { TributaryError } from '../runtime/src/errors.ts';
import { validateGraph } from '../runtime/src/connectors/validate-graph.ts';
import { createJobExecutor, type JobExecutor } from '../runtime/src/job/job-executor.ts';
import type { GraphSpec } from '../runtime/src/graph/spec.ts';
import type { ValidatedGraph } from '../runtime/src/graph/validate.ts';
import { createLogger, silentLogger } from '../runtime/src/telemetry/logger.ts';

/** Fixed: a savepoint restores only at the maxParallelism it was taken with. */
export const MAXP = 128;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface RescaleHost {
  /** Starts the job at `parallelism` (restoring `restoreFrom`); resolves once it runs. */
  start(parallelism: number, restoreFrom?: string): Promise<void>;
  /** Sleeps `ms`, rejecting as soon as the job failed. */
  wait(ms: number): Promise<void>;
  /**
   * The live rescale; marks when each phase (joining, moving, draining, done) was first seen, in ms
   * after `t0`. Returns when it completed and what moved.
   */
  liveRescale(to: number, marks: Record<string, number>, t0: number): Promise<{ doneAt: number; note: string }>;
  /**
   * Stop-with-savepoint, the old job ended, the new one at `to` restoring the savepoint started.
   * Returns the epoch ms from which an output write can only be the new job's.
   */
  savepointRescale(to: number, marks: Record<string, number>, t0: number): Promise<number>;
  /** Stop-with-savepoint at the end: every transaction committed, the job ended. */
  finish(): Promise<void>;
  /** Ends whatever still runs (after a failure); never throws. */
  close(): Promise<void>;
}

/** One executor of the job and its run(); `failure` is set once run() rejects. */
interface Running {
  job: JobExecutor;
  done: Promise<unknown>;
  failure?: unknown;
}

/** Every slot in this process: one JobExecutor, `job.rescale(to)` live, a new executor for a savepoint rescale. */
export class InProcessHost implements RescaleHost {
  private current: Running | undefined;
  private readonly spec: ValidatedGraph;
  private readonly root: string;

  constructor(spec: GraphSpec, root: string) {
    this.spec = validateGraph(spec);
    this.root = root;
  }

  async start(parallelism: number, restoreFrom?: string): Promise<void> {
    const stateDir = await mkdtemp(join(this.root, `p${parallelism}-`));
    const logLevel = process.env['BENCH_LIVE_LOG'];
    const job = await createJobExecutor(this.spec, {
      parallelism,
      maxParallelism: MAXP,
      logger: logLevel ? createLogger(logLevel) : silentLogger(),
      jobName: 'bench-live-rescale',
      checkpointing: { stateDir, intervalMs: 1000, timeoutMs: 30_000, retained: 2 },
      ...(restoreFrom ? { restoreFrom } : {}),
      ...(process.env['BENCH_LIVE_STATE_BACKEND'] === 'disk'
        ? { stateBackend: { kind: 'disk' as const, dir: join(this.root, 'local-state') } }
        : {}),
    });
    const r: Running = { job, done: job.run() };
    r.done.catch((e: unknown) => (r.failure = e));
    this.current = r;
  }

  async wait(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (this.current?.failure !== undefined)
        throw new TributaryError('TRIB_JOB_FAILED', 'the job failed during the bench', { cause: this.current.failure });
      await sleep(Math.min(200, until - Date.now()));
    }
  }

  /** The restored job's run() having started is the mark: its first write is after it. */
  async savepointRescale(to: number, marks: Record<string, number>, t0: number): Promise<number> {
    const old = this.current!;
    const sp = await old.job.triggerSavepoint({ stop: true });
    marks['savepoint'] = Date.now() - t0;
    const result = (await old.done) as { state?: string };
    if (result.state !== 'STOPPED')
      throw new TributaryError('TRIB_JOB_FAILED', `stop-with-savepoint ended the job as ${result.state}`);
    marks['stopped'] = Date.now() - t0;
    await this.start(to, sp.path);
    marks['restored'] = Date.now() - t0;
    return t0 + marks['restored'];
  }

  async liveRescale(to: number, marks: Record<string, number>, t0: number): Promise<{ doneAt: number; note: string }> {
    const r = await this.current!.job.rescale(to, {
      onProgress: (p) => {
        marks[p.phase] ??= Date.now() - t0;
      },
    });
    const note = `${r.stepsDone}/${r.steps} steps, ${r.keyGroupsMoved} key groups, ${(r.bytesMoved / 1e6).toFixed(1)} MB`;
    return { doneAt: Date.now(), note };
  }

  async finish(): Promise<void> {
    const last = this.current!;
    await last.job.triggerSavepoint({ stop: true });
    await last.done;
    this.current = undefined;
  }

  async close(): Promise<void> {
    const cur = this.current;
    if (!cur) return;
    cur.job.stop();
    await Promise.race([cur.done.catch(() => undefined), sleep(10_000)]);
  }
}
