// How a `tributary run` takes checkpoints, from its flags and the manifest's spec.checkpointing:
// read in one place so that `tributary validate` refuses what `run` with the same options would.
//
//   * on one thread (--single-thread, parallelism 1): checkpoints only with a state directory,
//     which --checkpoint-interval (or spec.checkpointing.interval), --state-dir or --control-port
//     brings (default .tributary/state/<job>); without an interval only the final checkpoint
//     (end of input) and savepoints are taken;
//   * slots on threads (the default above parallelism 1) or processes: always (the slots restart
//     from checkpoints), every --checkpoint-interval, else spec.checkpointing.interval, else 10 s
//     — as on Kubernetes.
import { checkSinkDeliveries } from '../connectors/sink-delivery.ts';
import { parseDuration } from '../graph/duration.ts';
import type { LoadedJob } from '../graph/load.ts';
import type { ValidatedGraph } from '../graph/validated-graph.ts';
import {
  DEFAULT_CHECKPOINT_TIMEOUT_MS,
  DEFAULT_RETAINED_CHECKPOINTS,
  DEFAULT_SUPERVISED_INTERVAL_MS,
} from '../checkpoint/defaults.ts';
import type { RunArgs } from './args.ts';

export interface RunCheckpointing {
  stateDir: string;
  /** Absent: no periodic checkpoints (local runs without an interval). */
  intervalMs: number | undefined;
  timeoutMs: number;
  retained: number;
  /** Consecutive failed checkpoints tolerated (default DEFAULT_TOLERABLE_FAILED_CHECKPOINTS). */
  tolerableFailedCheckpoints?: number;
  /** false: every checkpoint writes all keyed state (spec.checkpointing.incremental). */
  incremental?: boolean;
}

/** The run's checkpointing; undefined = a local run without a state directory (no checkpoints). */
export function runCheckpointing(args: RunArgs, loaded: LoadedJob, supervised: boolean): RunCheckpointing | undefined {
  const specInterval = parseDuration(loaded.checkpointing?.interval);
  const timeoutMs = parseDuration(loaded.checkpointing?.timeout) ?? DEFAULT_CHECKPOINT_TIMEOUT_MS;
  const retained = loaded.checkpointing?.retained ?? DEFAULT_RETAINED_CHECKPOINTS;
  const tolerable = args.tolerableFailedCheckpoints ?? loaded.checkpointing?.tolerableFailedCheckpoints;
  const tolerates = {
    ...(tolerable !== undefined ? { tolerableFailedCheckpoints: tolerable } : {}),
    ...(loaded.checkpointing?.incremental === false ? { incremental: false } : {}),
  };
  const defaultDir = `.tributary/state/${loaded.name}`;
  if (supervised) {
    return {
      stateDir: args.stateDir ?? defaultDir,
      intervalMs: args.checkpointIntervalMs ?? specInterval ?? DEFAULT_SUPERVISED_INTERVAL_MS,
      timeoutMs,
      retained,
      ...tolerates,
    };
  }
  const intervalMs = args.checkpointIntervalMs ?? specInterval;
  const stateDir =
    args.stateDir ?? (intervalMs !== undefined || args.controlPort !== undefined ? defaultDir : undefined);
  return stateDir === undefined ? undefined : { stateDir, intervalMs, timeoutMs, retained, ...tolerates };
}

/** Refuses `delivery: exactly-once` when this run takes no checkpoints, naming the flags to add. */
export function checkRunDelivery(graph: ValidatedGraph, loaded: LoadedJob, cp: RunCheckpointing | undefined): void {
  const manifest = loaded.graphPath === 'spec.graph' ? ' (or spec.checkpointing.interval in the manifest)' : '';
  checkSinkDeliveries(
    graph.spec.sinks,
    { checkpointing: cp !== undefined, ...(cp?.intervalMs !== undefined ? { intervalMs: cp.intervalMs } : {}) },
    loaded.graphPath,
    `add --checkpoint-interval 10s${manifest} (checkpoints into --state-dir, default .tributary/state/${loaded.name})`,
  );
}
