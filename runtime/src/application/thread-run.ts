// `env.execute({ parallelism: N, threads: true })`: the program's job on N worker_threads of
// this process, one slot per thread, as `tributary run --threads` runs a YAML job. A worker
// cannot receive the program's functions (closures of the calling script), so every slot
// thread imports the program itself as a job module (application mode, as a slot pod imports
// `spec.job.module`): its `execute()` there hands the slot the graph and its functions, and the
// slot links, checkpoints and restarts as a pod does. Consequences the docs state: the
// program's top level runs once more per slot thread up to its `execute()`, and it must build
// the same graph each time (it does unless it reads something that changes between runs).
//
// Checkpoints are always on (the supervisor restarts every slot from the newest one after a
// failure), into `checkpointing.stateDir` (default .tributary/state/<jobName>) every
// `checkpointing.intervalMs` (default 10 s), as with `tributary run --threads`.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_CHECKPOINT_TIMEOUT_MS,
  DEFAULT_RETAINED_CHECKPOINTS,
  DEFAULT_SUPERVISED_INTERVAL_MS,
} from '../checkpoint/defaults.ts';
import { CONTRACT_VERSION } from '../control/contract.ts';
import { TributaryError } from '../errors.ts';
import type { JobExecutorOptions } from '../exec/job-options.ts';
import type { JobResult } from '../exec/job-status.ts';
import { Supervisor, type SlotHandle } from '../process/supervisor.ts';
import { ThreadSlot } from '../process/thread-slot.ts';
import { defaultMaxParallelism } from '../state/key-groups.ts';
import { createLogger } from '../telemetry/logger.ts';

/** `threads: true` or these: how the thread run finds the program and recovers from failures. */
export interface ThreadRunOptions {
  /**
   * The program every slot thread imports (path or file: URL; pass `import.meta.url`). Default:
   * the entry script of this process (`process.argv[1]`).
   */
  module?: string;
  /** Failed attempts restarted (from the newest checkpoint) before the run fails. Default 3. */
  maxRestarts?: number;
}

/**
 * The executor options a thread run honours. The others configure a run in this thread (sink
 * writers, restored state, metrics objects, channel sizes) and are refused, not ignored.
 */
const HONOURED = new Set(['parallelism', 'maxParallelism', 'jobName', 'checkpointing', 'logger', 'stateBackend']);

function moduleOf(opts: ThreadRunOptions): string {
  const given = opts.module ?? process.argv[1];
  if (given === undefined || given === '')
    throw new TributaryError(
      'TRIB_JOB_MODULE',
      'execute({ threads }): this process has no entry script; pass threads: { module: import.meta.url }',
    );
  const path = given.startsWith('file:') ? fileURLToPath(given) : resolve(given);
  if (!existsSync(path) || !statSync(path).isFile())
    throw new TributaryError(
      'TRIB_JOB_MODULE',
      `execute({ threads }): the job module ${path} is not a file; pass threads: { module: import.meta.url }`,
    );
  return path;
}

/**
 * Runs the program's job on `opts.parallelism` slot threads; resolves when every slot has
 * finished. Record counts are the final attempt's (a restarted slot counts from its restore).
 */
export async function runOnThreads(opts: Partial<JobExecutorOptions>, threads: ThreadRunOptions): Promise<JobResult> {
  for (const [k, v] of Object.entries(opts))
    if (v !== undefined && !HONOURED.has(k))
      throw new TributaryError(
        'TRIB_JOB_CONFIG',
        `execute({ threads }): option ${k} configures a run in this thread only; drop it or drop threads`,
      );
  const module = moduleOf(threads);
  const parallelism = opts.parallelism ?? 1;
  const jobName = opts.jobName ?? 'job';
  const level = process.env['TRIBUTARY_LOG_LEVEL'] ?? 'error';
  const started = Date.now();
  let last: SlotHandle[] = [];
  const sup = new Supervisor({
    config: {
      contractVersion: CONTRACT_VERSION,
      jobName,
      module,
      parallelism,
      maxParallelism: opts.maxParallelism ?? defaultMaxParallelism(parallelism),
      checkpointing: {
        intervalMs: opts.checkpointing?.intervalMs || DEFAULT_SUPERVISED_INTERVAL_MS,
        timeoutMs: opts.checkpointing?.timeoutMs ?? DEFAULT_CHECKPOINT_TIMEOUT_MS,
        retained: opts.checkpointing?.retained ?? DEFAULT_RETAINED_CHECKPOINTS,
        ...(opts.checkpointing?.incremental === false ? { incremental: false } : {}),
      },
      stateDir: resolve(opts.checkpointing?.stateDir ?? `.tributary/state/${jobName}`),
      ...(opts.checkpointing?.keepAll ? { retention: 'Retain' as const } : {}),
      // The slot threads share the directory: each store makes its own subdirectory under it.
      ...(opts.stateBackend ? { stateBackend: opts.stateBackend } : {}),
      allowNonRestoredState: false,
    },
    host: 'thread',
    // Nearly as quiet as an in-process execute() (silent by default): failures only, unless
    // TRIBUTARY_LOG_LEVEL asks for more.
    logger: opts.logger ?? createLogger(level),
    env: { TRIBUTARY_LOG_LEVEL: level },
    argv: process.argv.slice(2),
    ...(threads.maxRestarts !== undefined ? { maxRestarts: threads.maxRestarts } : {}),
    onAttempt: (a) => (last = a.slots),
  });
  const r = await sup.run();
  let recordsIn = 0;
  let recordsOut = 0;
  for (const s of last) {
    const counts = s.child instanceof ThreadSlot ? s.child.result : undefined;
    recordsIn += counts?.recordsIn ?? 0;
    recordsOut += counts?.recordsOut ?? 0;
  }
  return { state: r.state, recordsIn, recordsOut, durationMs: Date.now() - started };
}
