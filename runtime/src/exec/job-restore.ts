// A job's restore, read and checked before the job is built (job-executor.ts createJobExecutor; a
// slot process runs it while it waits for its peers): the metadata first (planJobRestore), then
// this process's slots' keyed state (readJobRestore).
import { readMetadata, type CheckpointMetadata } from '../checkpoint/metadata.ts';
import {
  planRestore,
  readRestore,
  type RestoredState,
  type RestoreOptions,
  type RestorePlan,
} from '../checkpoint/restore-plan.ts';
import type { ValidatedGraph } from '../graph/validate.ts';
import type { CreateJobExecutorOptions } from './job-options.ts';

/** The state a job restores from, loaded and verified before the job is built (see createJobExecutor). */
export interface LoadedRestore {
  maxParallelism: number;
  restored: RestoredState;
}

/** A restore's checked metadata, before its keyed state is read (planJobRestore → readJobRestore). */
export interface PlannedRestore {
  maxParallelism: number;
  plan: RestorePlan;
}

function restoreOptions(graph: ValidatedGraph, opts: CreateJobExecutorOptions, maxParallelism: number): RestoreOptions {
  return {
    graph,
    parallelism: opts.parallelism,
    maxParallelism,
    allowNonRestoredState: opts.allowNonRestoredState ?? false,
    ...(opts.slots ? { slots: opts.slots } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  };
}

/**
 * Reads and checks the metadata of `opts.restoreFrom` (maxParallelism defaults to the
 * restored state's); undefined when there is nothing to restore. Fails with a TRIB_RESTORE_*
 * error rather than starting from empty state when it does not fit.
 */
export async function planJobRestore(
  graph: ValidatedGraph,
  opts: CreateJobExecutorOptions,
): Promise<PlannedRestore | undefined> {
  if (!opts.restoreFrom) return undefined;
  const metadata = opts.maxParallelism === undefined ? await readMetadata(opts.restoreFrom) : undefined;
  const maxParallelism = opts.maxParallelism ?? (metadata as CheckpointMetadata).maxParallelism;
  const plan = await planRestore(opts.restoreFrom, restoreOptions(graph, opts, maxParallelism), metadata);
  return { maxParallelism, plan };
}

/** Reads and verifies the keyed state of a planned restore (this process's slots' key groups). */
export async function readJobRestore(
  graph: ValidatedGraph,
  opts: CreateJobExecutorOptions,
  planned: PlannedRestore,
): Promise<LoadedRestore> {
  const restored = await readRestore(planned.plan, restoreOptions(graph, opts, planned.maxParallelism));
  return { maxParallelism: planned.maxParallelism, restored };
}

/**
 * planJobRestore then readJobRestore; undefined when there is nothing to restore. Needs no
 * job: a slot process runs it while it waits for its peers.
 */
export async function loadJobRestore(
  graph: ValidatedGraph,
  opts: CreateJobExecutorOptions,
): Promise<LoadedRestore | undefined> {
  const planned = await planJobRestore(graph, opts);
  return planned && readJobRestore(graph, opts, planned);
}
