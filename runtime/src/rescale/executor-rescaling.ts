// How a job executor changes its slots while it runs (live rescale), wired to the executor's parts:
// LiveRescale (every slot in this process: slots join and drain here, rescale-local.ts) and
// JoinAcross (slots in separate processes: a slot of another process joins, join-across.ts).
import type { Logger } from 'pino';
import { DEFAULT_CHECKPOINT_TIMEOUT_MS } from '../checkpoint/defaults.ts';
import type { JobMetrics } from '../telemetry/metrics.ts';
import type { JobCheckpointing } from '../exec/job-checkpointing.ts';
import type { JobLifecycle } from '../exec/job-lifecycle.ts';
import type { JobExecutorOptions } from '../exec/job-options.ts';
import type { SlotLoops } from '../exec/job-run.ts';
import type { LiveMigration } from './migration.ts';
import { LiveRescale, type RescaleOptions } from './rescale-local.ts';
import { checkAcross, rescaleAcross } from './rescale-across.ts';
import type { RescaleReport } from './rescale-progress.ts';
import type { SourceSpec } from '../graph/spec.ts';
import { JoinAcross } from './join-across.ts';
import type { SinkOpening } from '../exec/sink-opening.ts';
import type { SlotBuilder, SlotParts } from '../exec/slot-builder.ts';
import { drainSlots } from './leave-local.ts';
import type { JoinTransport } from './join-rpc.ts';
import type { MigrationTransport } from './migration-rpc.ts';
import { joinSlot, wireJoined } from './join-local.ts';

/** A job executor's options for live rescale across processes (the engine's own: exec/job-options.ts). */
export interface RescaleTransports {
  /**
   * When `slots` is a subset: how a live migration's messages reach slots of other processes
   * (migration-rpc.ts); incoming ones go to `job.migration.receive`. Without it, no migration.
   */
  migrationTransport?: MigrationTransport;
  /** When `slots` is a subset: how a join's messages reach slots of other processes (join-rpc.ts, join-across.ts). */
  joinTransport?: JoinTransport;
}

export interface ExecutorRescalingParts {
  opts: JobExecutorOptions & RescaleTransports;
  sources: readonly SourceSpec[];
  /** The job's parallelism now. */
  parallelism(): number;
  maxParallelism: number;
  migration: LiveMigration | undefined;
  /** Every slot of the job runs in this process. */
  everySlot: boolean;
  builder: SlotBuilder;
  /** The executor's slots by index and in order (a live rescale changes both). */
  byIndex: Map<number, SlotParts>;
  list: SlotParts[];
  checkpoints: JobCheckpointing;
  sinkOpening: SinkOpening;
  loops: SlotLoops;
  lifecycle: JobLifecycle;
  declareAlignment(slot: number): void;
  setParallelism(n: number): void;
  fail(e: unknown): void;
  metrics: JobMetrics;
  logger: Logger;
}

export interface ExecutorRescaling {
  local: LiveRescale;
  remote: JoinAcross | undefined;
  /** Slot 0 of a job whose slots run in separate processes: JobExecutor.rescale (rescale-across.ts). */
  across: ((to: number, o?: RescaleOptions) => Promise<RescaleReport>) | undefined;
  /** Throws why slot 0 cannot rescale to `to` across processes, by joins one at a time or one scale in. */
  checkAcross: ((to: number) => void) | undefined;
}

export function executorRescaling(x: ExecutorRescalingParts): ExecutorRescaling {
  const { opts, migration, builder, byIndex, checkpoints } = x;
  const notRunning = (): string | undefined =>
    x.lifecycle.state !== 'RUNNING'
      ? x.lifecycle.publicState
      : !x.loops.running
        ? 'starting: its sinks and sources are opening'
        : undefined;
  const local = new LiveRescale({
    maxParallelism: x.maxParallelism,
    unsupported: !opts.checkpointing
      ? 'the job takes no checkpoints'
      : !migration || !x.everySlot
        ? 'slots of the job run in other processes'
        : undefined,
    migration,
    slots: () => x.list,
    notRunning,
    over: x.loops.over,
    lastCompleted: () => checkpoints.coordinator?.lastCompleted,
    triggerCheckpoint: () => checkpoints.triggerCheckpoint(),
    join: async () => {
      const c = { builder, byIndex, list: x.list, checkpoints };
      const more = { sinkOpening: x.sinkOpening, loops: x.loops, nodeTiming: opts.nodeTiming ?? true };
      const owners = () => (migration as LiveMigration).owners();
      await joinSlot({ ...c, ...more, declareAlignment: x.declareAlignment, owners });
    },
    drain: (from) =>
      drainSlots(
        { byIndex, list: x.list, links: builder.links, checkpoints },
        {
          sinkOpening: x.sinkOpening,
          migration: migration as LiveMigration,
          loopEnded: (p) => x.loops.loopOf(p),
          metrics: x.metrics,
        },
        from,
        opts.checkpointing?.timeoutMs ?? DEFAULT_CHECKPOINT_TIMEOUT_MS,
      ),
    setParallelism: x.setParallelism,
    fail: x.fail,
    logger: x.logger,
  });
  const transport = opts.joinTransport;
  const remote =
    migration && transport && opts.checkpointing && !x.everySlot
      ? new JoinAcross({
          transport,
          coordinator: checkpoints.coordinator,
          local: [...byIndex.keys()],
          triggerCheckpoint: () => checkpoints.triggerCheckpoint(),
          owners: () => migration.owners(),
          migrating: () => migration.busy,
          wireLocal: async (s) => {
            await wireJoined(builder.links, byIndex, s, builder.joinChannels(s));
            migration.resize(s + 1);
          },
          admit: (s) => checkpoints.admitRemote(s),
          timeoutMs: opts.checkpointing.timeoutMs ?? DEFAULT_CHECKPOINT_TIMEOUT_MS,
          fail: x.fail,
          logger: x.logger,
        })
      : undefined;
  const ctx =
    remote && migration && checkpoints.coordinator
      ? {
          join: remote,
          migration,
          maxParallelism: x.maxParallelism,
          sources: x.sources,
          parallelism: x.parallelism,
          notRunning,
          triggerCheckpoint: () => checkpoints.triggerCheckpoint(),
          setParallelism: x.setParallelism,
          fail: x.fail,
          logger: x.logger,
        }
      : undefined;
  return {
    local,
    remote,
    across: ctx && ((to: number, o?: RescaleOptions) => rescaleAcross(ctx, to, o)),
    checkAcross: ctx && ((to: number) => checkAcross(ctx, to, true)),
  };
}
