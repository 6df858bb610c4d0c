// What a caller hands a job executor, and the checks on it (TRIB_JOB_CONFIG: the options are
// wrong, not the graph). The same options run every slot in this process, or — with `slots`,
// `remoteChannel` and `checkpointTransport` — one slot process of a distributed deployment.
import type { Logger } from 'pino';
import type { CoordinatorPort, SlotCheckpointPort } from '../checkpoint/messages.ts';
import type { RestoredState } from '../checkpoint/restore-plan.ts';
import type { SinkWriter } from '../connectors/api.ts';
import { TributaryError } from '../errors.ts';
import type { FunctionRegistry } from '../graph/function-registry.ts';
import type { SinkSpec } from '../graph/spec.ts';
import { defaultMaxParallelism } from '../state/key-groups.ts';
import type { StateBackendOptions } from '../state/state-backend-options.ts';
import type { JobMetrics } from '../telemetry/metrics.ts';
import type { WatermarkAlignment } from '../time/watermark-alignment.ts';
import type { Channel } from '../core/channel.ts';
import type { SinkOpening } from './sink-opening.ts';

export interface JobExecutorOptions {
  parallelism: number;
  maxParallelism?: number;
  logger?: Logger;
  metrics?: JobMetrics;
  /** Records per source poll. Default 1024. */
  batchSize?: number;
  /** Batches queued per channel before the producer stops. Default 16. */
  channelCapacity?: number;
  /**
   * Time each graph node (NodeLoad.busyMs/backpressuredMs, node-clock.ts); default true. Off
   * only for a benchmark's peer run, which measures what the timing costs.
   */
  nodeTiming?: boolean;
  /** Functions of the job's code, by the names the graph uses (the TypeScript API fills it). */
  functions?: FunctionRegistry;
  /** Replaces the writer of a sink (tests, embedding: collect results in memory). */
  sinkWriter?: (spec: SinkSpec, slot: number) => SinkWriter | undefined;
  /** Per stateful step, snapshots to restore from (any parallelism, same maxParallelism). */
  restore?: Map<string, Uint8Array[]>;
  /** Slots this process runs (default: all). One process per slot runs `[slot]`. */
  slots?: readonly number[];
  /**
   * The end of a channel that crosses processes (its producer or its consumer slot is not in
   * `slots`), e.g. over TCP; `wake` is the local slot's wake-up. Required when `slots` is a subset.
   */
  remoteChannel?: (key: ChannelKey, wake: () => void) => Channel;
  /** Names transactional ids and logs. */
  jobName?: string;
  /** Qualifies Kafka transactional and consumer group ids (connectors/kafka/id-scope.ts): the namespace. */
  kafkaIdScope?: string;
  /** Periodic aligned checkpoints into `stateDir` (savepoints need a stateDir too). */
  checkpointing?: CheckpointingOptions;
  /**
   * Without `checkpointing`: how often sources that keep their position in their input (Kafka)
   * commit it, each time behind a commit barrier that every sink acknowledged
   * (checkpoint/commit-barriers.ts). Default DEFAULT_OFFSET_COMMIT_INTERVAL_MS (5 s); 0 turns
   * them off (commits at a partition's start and at a clean end only). Ignored with checkpointing.
   */
  offsetCommitIntervalMs?: number;
  /** A checkpoint/savepoint loaded by `loadRestore` (createJobExecutor does it from a path). */
  restored?: RestoredState;
  /**
   * The sinks' writers, possibly opening already (a slot process starts that as soon as the
   * restore's metadata is read: sink-opening.ts). Default: made by the executor, opened when
   * the job runs. Must be for this job's sinks, `slots`, parallelism and `restored`.
   */
  sinkOpening?: SinkOpening;
  /**
   * Watermark alignment groups shared with the other processes of a distributed deployment
   * (the slot process carries reports between them). Default: one for this process.
   */
  alignment?: WatermarkAlignment;
  /**
   * When `slots` is a subset (one process per slot): how checkpoint messages cross processes.
   * `coordinator` receives this process's acks/declines when slot 0 (the coordinator) is
   * elsewhere; `slot(i)` reaches slot i's checkpointer from slot 0's coordinator. Incoming
   * messages are delivered with `job.coordinator` (on slot 0) and `job.slotCheckpointPort(i)`.
   */
  checkpointTransport?: {
    coordinator?: CoordinatorPort;
    slot?: (slot: number) => SlotCheckpointPort;
  };
  /**
   * This process's slot joins the running job (a slot process started to join: join-across.ts): it is built with the
   * key-group owner table slot 0 sent (`join-state`), owning nothing, restoring nothing.
   */
  joining?: { owners: Int32Array };
  /** Where keyed state lives (spec.stateBackend); default the heap. */
  stateBackend?: StateBackendOptions;
}

/** Options of createJobExecutor: JobExecutorOptions plus a checkpoint/savepoint path to restore from. */
export interface CreateJobExecutorOptions extends JobExecutorOptions {
  restoreFrom?: string;
  allowNonRestoredState?: boolean;
}

export interface CheckpointingOptions {
  stateDir: string;
  /** 0 or absent: no periodic checkpoints (savepoints and triggerCheckpoint only). */
  intervalMs?: number;
  timeoutMs?: number;
  retained?: number;
  /** Consecutive failed checkpoints the job rides out; one more fails it (default 10, checkpoint/defaults.ts). */
  tolerableFailedCheckpoints?: number;
  /** Never remove checkpoints beyond `retained` (JobConfig.retention Retain). */
  keepAll?: boolean;
  /** Checkpoints write only the keyed state changed since the last completed one (default true). */
  incremental?: boolean;
  /** Written into every `_metadata.json` as `deployment` (JobConfig.deployment): which deployment took it. */
  deployment?: string;
}

/** One channel of an exchange: consumer task (by head node), its logical input, producer and consumer slot. */
export interface ChannelKey {
  consumer: string;
  input: number;
  from: number;
  to: number;
}

export function checkParallelism(parallelism: number): void {
  if (!Number.isInteger(parallelism) || parallelism < 1)
    throw new TributaryError('TRIB_JOB_CONFIG', `parallelism must be a positive integer, got ${parallelism}`);
}

/** maxParallelism (default: derived from parallelism), never below parallelism. */
export function resolveMaxParallelism(opts: JobExecutorOptions): number {
  const max = opts.maxParallelism ?? defaultMaxParallelism(opts.parallelism);
  if (max < opts.parallelism)
    throw new TributaryError('TRIB_JOB_CONFIG', `maxParallelism ${max} is below parallelism ${opts.parallelism}`);
  return max;
}

/** The slots this process runs, each in [0, parallelism). */
export function localSlots(opts: JobExecutorOptions): number[] {
  const slots = opts.slots ?? [...Array(opts.parallelism).keys()];
  for (const s of slots)
    if (!Number.isInteger(s) || s < 0 || s >= opts.parallelism)
      throw new TributaryError('TRIB_JOB_CONFIG', `slot ${s} is outside [0, ${opts.parallelism})`);
  return [...slots];
}
