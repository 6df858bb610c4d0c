// Runs a validated graph's slots in this process: all of them (a local job), or a subset (each slot
// process of a distributed deployment runs one), the other slots' channels and checkpoint messages then
// crossing processes. It composes exec/ — OperatorFactory, SlotBuilder, JobCheckpointing, JobLifecycle
// (the one state), JobFailure — and the live-rescale wing (rescale/README.md: migration, join, leave).
import { OutageBoard } from '../core/outage-board.ts';
import type { Logger } from 'pino';
import type { CheckpointCoordinator, CompletedCheckpoint } from '../checkpoint/coordinator.ts';
import { DEFAULT_OFFSET_COMMIT_INTERVAL_MS } from '../checkpoint/defaults.ts';
import type { SlotCheckpointPort } from '../checkpoint/messages.ts';
import {
  loadJobRestore,
  planJobRestore,
  readJobRestore,
  type LoadedRestore,
  type PlannedRestore,
} from '../exec/job-restore.ts';
import { checkExecutable } from '../connectors/registry.ts';
import { checkSinkDeliveries, sinkDeliveries } from '../connectors/sink-delivery.ts';
import { TributaryError } from '../errors.ts';
import { planGraph, type PhysicalPlan } from '../graph/plan.ts';
import type { ValidatedGraph } from '../graph/validate.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { JobMetrics } from '../telemetry/metrics.ts';
import { alignmentMember, resolveAlignment } from '../graph/alignment.ts';
import { WatermarkAlignment } from '../time/watermark-alignment.ts';
import { JobCheckpointing } from '../exec/job-checkpointing.ts';
import { JobCommitBarriers } from '../exec/job-commit-barriers.ts';
import { JobFailure } from '../exec/job-failure.ts';
import { publishJobGauges } from '../exec/job-gauges.ts';
import { JobLifecycle } from '../exec/job-lifecycle.ts';
import { LiveMigration } from '../rescale/migration.ts';
import type { LiveRescale, RescaleOptions } from '../rescale/rescale-local.ts';
import { executorRescaling, type ExecutorRescaling, type RescaleTransports } from '../rescale/executor-rescaling.ts';
import type { RescaleReport } from '../rescale/rescale-progress.ts';
import { emptySlotParts } from '../rescale/join-local.ts';
import type { JoinAcross } from '../rescale/join-across.ts';
import type { LeaveLocalContext } from '../rescale/leave-local.ts';
import type { MigrationPlan } from '../rescale/plan.ts';
import {
  checkParallelism,
  localSlots,
  resolveMaxParallelism,
  type CreateJobExecutorOptions,
  type JobExecutorOptions,
} from '../exec/job-options.ts';
import { runTasks, SlotLoops } from '../exec/job-run.ts';
import type { JobResult, JobStatus } from '../exec/job-status.ts';
import { storeOpener } from '../state/disk-store.ts';
import { OperatorFactory, type OperatorFactoryOptions } from '../exec/operator-factory.ts';
import { SinkOpening } from '../exec/sink-opening.ts';
import { SlotBuilder, type SlotParts } from '../exec/slot-builder.ts';
import { publishSlotLoad } from '../exec/slot-load.ts';
import { jobStatusOf } from '../exec/job-status-view.ts';
import { DroppedRecords } from '../exec/dropped-records.ts';

/** What a job executor takes: the engine's options and live rescale's transports. */
export type ExecutorOptions = JobExecutorOptions & RescaleTransports;

export class JobExecutor {
  readonly graph: ValidatedGraph;
  readonly plan: PhysicalPlan;
  readonly maxParallelism: number;
  readonly metrics: JobMetrics;
  private readonly logger: Logger;
  private readonly opts: ExecutorOptions;
  private readonly slots: SlotParts[] = [];
  private readonly lifecycle = new JobLifecycle();
  private readonly failure = new JobFailure();
  private readonly checkpoints: JobCheckpointing;
  /** Without checkpointing: the periodic commits of source positions (absent when turned off). */
  private readonly commitBarriers: JobCommitBarriers | undefined;
  private readonly sinkOpening: SinkOpening;
  /** Key-group moves between slots (live rescale; a transport delivers trigger steps and messages to it). */
  readonly migration: LiveMigration | undefined;
  /** Slots of other processes joining the running job (join-across.ts; with a join transport). */
  readonly remoteJoin: JoinAcross | undefined;
  /** Slots joining and draining while the job runs (JobExecutor.rescale). */
  private readonly rescaling: LiveRescale;
  /** Slot 0 of a job whose slots run in separate processes: its rescale (rescale-across.ts). */
  private readonly across: ExecutorRescaling['across'];
  private readonly checkAcross: ExecutorRescaling['checkAcross'];
  /** What slots draining need of this job: leave-local.ts in one process, leave-across.ts across processes. */
  readonly drainContext: LeaveLocalContext & { fail(e: unknown): void; setParallelism(n: number): void };
  private readonly loops = new SlotLoops(() => this.slots);
  private current: number;
  private recordsIn = 0;
  private recordsOut = 0;
  private readonly restoredFrom: string | undefined;
  /** What this process's sources, sinks and checkpoint storage cannot reach now; the records its steps dropped. */
  readonly outages: OutageBoard;
  readonly dropped = new DroppedRecords(() => this.logger);

  constructor(graph: ValidatedGraph, opts: ExecutorOptions) {
    // Sinks opened before the executor (a slot process's early opening) already report to theirs.
    this.outages = opts.sinkOpening?.outages ?? new OutageBoard();
    checkParallelism(opts.parallelism);
    this.graph = graph;
    this.opts = opts;
    this.current = opts.parallelism;
    this.maxParallelism = resolveMaxParallelism(opts);
    this.logger = opts.logger ?? silentLogger();
    this.metrics = opts.metrics ?? new JobMetrics();
    checkExecutable({ sources: graph.spec.sources, sinks: graph.spec.sinks });
    const delivery = { checkpointing: opts.checkpointing !== undefined, intervalMs: opts.checkpointing?.intervalMs };
    checkSinkDeliveries(graph.spec.sinks, delivery);
    for (const d of sinkDeliveries(graph.spec.sinks, delivery))
      if (!d.explicit)
        this.logger.info(
          { sink: d.name, delivery: d.delivery, reason: d.reason },
          `sink ${d.name}: ${d.delivery} (default)`,
        );
    this.plan = planGraph(graph);
    const startedAt = Date.now();
    const slotByIndex = new Map<number, SlotParts>();
    for (const s of localSlots(opts)) {
      const parts = emptySlotParts(s, opts.nodeTiming ?? true);
      this.slots.push(parts);
      slotByIndex.set(s, parts);
    }
    const restored = opts.restored;
    this.restoredFrom = restored?.path;
    if (restored && restored.metadata.maxParallelism !== this.maxParallelism) {
      throw new TributaryError(
        'TRIB_RESTORE_MAX_PARALLELISM',
        `${restored.path} has maxParallelism ${restored.metadata.maxParallelism}; this job has ${this.maxParallelism}`,
      );
    }
    if (restored) {
      this.metrics.restoreStateBytes.set({ kind: 'read' }, restored.fetched.bytesRead);
      this.metrics.restoreStateBytes.set({ kind: 'files' }, restored.fetched.fileBytes);
    }
    this.sinkOpening =
      opts.sinkOpening ??
      new SinkOpening({
        sinks: graph.spec.sinks,
        slots: [...slotByIndex.keys()],
        parallelism: this.parallelism,
        job: opts,
        logger: this.logger,
        registry: this.metrics.registry,
        outages: this.outages,
        ...(restored ? { restoredSinks: restored.sinks, restoredFrom: restored.path } : {}),
      });
    const shape = {
      parallelism: this.parallelism,
      maxParallelism: this.maxParallelism,
      metrics: this.metrics,
      logger: this.logger,
    };
    // Slots in other processes migrate only with a transport between them (migration-rpc.ts).
    const everySlot = slotByIndex.size === this.parallelism;
    const transport = everySlot ? undefined : opts.migrationTransport;
    const migration =
      opts.checkpointing && (everySlot || transport)
        ? new LiveMigration({
            ...shape,
            transport,
            stepTimeoutMs: opts.checkpointing.timeoutMs,
            owners: opts.joining?.owners,
            fail: (e: unknown) => this.fail(e),
          })
        : undefined;
    this.migration = migration;
    this.checkpoints = new JobCheckpointing({
      ...shape,
      checkpointing: opts.checkpointing,
      spec: graph.spec,
      slots: slotByIndex,
      transport: opts.checkpointTransport,
      restoredCheckpointId: restored?.checkpointId,
      lifecycle: this.lifecycle,
      failure: this.failure,
      fail: (e) => this.fail(e),
      reportOutage: this.outages.reporter('checkpoint-storage'),
      ...(migration
        ? {
            onTrigger: (id: number) => migration.onTrigger(id),
            onAbort: (id: number, reason: string) => migration.onAbort(id, reason),
          }
        : {}),
    });
    const commitEveryMs = opts.offsetCommitIntervalMs ?? DEFAULT_OFFSET_COMMIT_INTERVAL_MS;
    if (!opts.checkpointing && commitEveryMs > 0)
      this.commitBarriers = new JobCommitBarriers({
        ...shape,
        intervalMs: commitEveryMs,
        slots: slotByIndex,
        fail: (e) => this.fail(e),
      });
    const alignment = opts.alignment ?? new WatermarkAlignment();
    const local = new Set(slotByIndex.keys());
    const heads = new Set(this.plan.tasks.map((t) => t.head)); // lookup tables run no source task
    for (const src of graph.spec.sources) {
      const a = heads.has(src.name) ? resolveAlignment(src) : undefined;
      if (a)
        for (let s = 0; s < this.parallelism; s++)
          alignment.declare(a.group, alignmentMember(src.name, s), local.has(s));
    }
    const builder = new SlotBuilder(
      {
        ...shape,
        graph,
        plan: this.plan,
        job: opts,
        sinks: this.sinkOpening,
        operators: this.operatorFactory(shape, opts),
        jobStartTime: startedAt,
        alignment,
        outages: this.outages,
        onRecordsIn: (n) => {
          this.recordsIn += n;
        },
        onRecordsOut: (n) => {
          this.recordsOut += n;
        },
        ...(migration ? { migration } : {}),
      },
      slotByIndex,
    );
    const buildStart = performance.now();
    for (const parts of this.slots)
      if (opts.joining) builder.buildJoining(parts, opts.joining.owners, this.parallelism);
      else builder.build(parts);
    const declare = (s: number): void => {
      for (const src of graph.spec.sources) {
        const a = heads.has(src.name) ? resolveAlignment(src) : undefined;
        if (a) alignment.declare(a.group, alignmentMember(src.name, s), true);
      }
    };
    const loopEnded = (p: SlotParts): Promise<void> => this.loops.loopOf(p);
    const drainOf = { byIndex: slotByIndex, list: this.slots, links: builder.links, checkpoints: this.checkpoints };
    const more = { sinkOpening: this.sinkOpening, metrics: this.metrics, fail: (e: unknown) => this.fail(e) };
    const setParallelism = (n: number): number => (this.current = n);
    this.drainContext = { ...drainOf, ...more, loopEnded, setParallelism, migration: migration as LiveMigration };
    const rescaling = executorRescaling({
      opts,
      sources: graph.spec.sources,
      parallelism: () => this.parallelism,
      maxParallelism: this.maxParallelism,
      migration,
      everySlot,
      builder,
      byIndex: slotByIndex,
      list: this.slots,
      checkpoints: this.checkpoints,
      sinkOpening: this.sinkOpening,
      loops: this.loops,
      lifecycle: this.lifecycle,
      declareAlignment: declare,
      setParallelism: (n) => {
        this.current = n;
      },
      fail: (e) => this.fail(e),
      metrics: this.metrics,
      logger: this.logger,
    });
    this.rescaling = rescaling.local;
    this.remoteJoin = rescaling.remote;
    this.across = rescaling.across;
    this.checkAcross = rescaling.checkAcross;
    if (opts.restored)
      this.logger.info(
        { checkpointId: opts.restored.checkpointId, ms: Math.round(performance.now() - buildStart) },
        'state restored into the operators',
      );
    this.metrics.onCollect(() => {
      publishJobGauges(this.metrics, this.slots);
      publishSlotLoad(this.metrics, this.slots);
      for (const g of this.outages.gauge())
        this.metrics.dependencyUnavailable.labels(g.dependency, g.component).set(g.unavailable ? 1 : 0);
    });
  }

  /** The job's parallelism now (a live rescale changes it once done: rescale()). */
  get parallelism(): number {
    return this.current;
  }

  /** The checkpoint coordinator, when slot 0 runs here and the job has a stateDir. */
  get coordinator(): CheckpointCoordinator | undefined {
    return this.checkpoints.coordinator;
  }

  /** Resolves once the job's loops run (its sinks, tables and sources are open). */
  get started(): Promise<void> {
    return this.loops.started;
  }

  /** The checkpoint port of a slot running in this process (for a transport delivering trigger/notify messages). */
  slotCheckpointPort(slot: number): SlotCheckpointPort | undefined {
    return this.slots.find((p) => p.slot.index === slot)?.checkpointer;
  }

  status(): JobStatus {
    return jobStatusOf({
      state: this.lifecycle.publicState,
      parallelism: this.parallelism,
      recordsIn: this.recordsIn,
      recordsOut: this.recordsOut,
      slots: this.slots,
      coordinator: this.coordinator,
      restoredFrom: this.restoredFrom,
      error: this.failure.error,
      outages: this.outages,
      unread: () => this.checkpoints.unowned?.list() ?? [],
      dropped: this.dropped.counts(),
    });
  }

  /** Fails the job from outside a slot loop (e.g. a sink commit failed, a live rescale failed after it began). */
  fail(e: unknown): void {
    this.failure.record(e);
    this.logger.error({ err: (e as Error).message }, 'job failing');
    for (const p of this.slots) p.slot.abort();
  }

  /** Triggers a checkpoint now (tests, benchmarks); resolves when it completed. */
  triggerCheckpoint(): Promise<CompletedCheckpoint> {
    return this.checkpoints.triggerCheckpoint();
  }

  /**
   * Triggers a savepoint. With `stop` (stop-with-savepoint) the sources end right after its
   * barrier; once it completes the sinks commit and the job finishes (run() resolves STOPPED).
   */
  triggerSavepoint(opts: { stop?: boolean } = {}): Promise<CompletedCheckpoint> {
    return this.checkpoints.triggerSavepoint(opts.stop ?? false);
  }

  /**
   * Moves key groups between the slots of this process as `plan` says (live rescale; internal:
   * no user-visible entry point yet), one checkpoint barrier per step; resolves once every step's
   * state is installed. A step whose barrier fails fails the job (migration.ts).
   */
  async migrate(plan: MigrationPlan, onStep?: (done: number) => void): Promise<void> {
    if (!this.migration)
      throw new TributaryError(
        'TRIB_RESCALE_UNSUPPORTED',
        'live rescale needs checkpointing and every slot of the job in this process',
      );
    try {
      await this.migration.run(plan, () => this.checkpoints.triggerCheckpoint(), onStep);
    } catch (e) {
      if (e instanceof TributaryError && e.code === 'TRIB_RESCALE_STEP_FAILED') this.fail(e);
      throw e;
    }
  }

  /**
   * Slot 0 of a job whose slots run in separate processes: throws why it cannot rescale to `to` live now
   * (joins one slot at a time, or one scale in); nothing changes either way.
   */
  checkRescaleAcross(to: number): void {
    if (!this.checkAcross)
      throw new TributaryError(
        'TRIB_RESCALE_UNSUPPORTED',
        'live rescale across processes: slot 0 with checkpoints only',
      );
    this.checkAcross(to);
  }

  /**
   * Changes the parallelism of the running job to `to` (live rescale, rescale/rescale-local.ts: slots join, or
   * leave once key groups and partitions moved off them); resolves with the report. On slot 0 of a job whose
   * slots run in separate processes: N → N+1, the joining slot process linked already (rescale-across.ts).
   */
  rescale(to: number, opts?: RescaleOptions): Promise<RescaleReport> {
    return this.across ? this.across(to, opts) : this.rescaling.run(to, opts);
  }

  /** The control API's savepoint request (idempotent by requestId). */
  requestSavepoint(req: { stop: boolean; requestId?: string }): ReturnType<CheckpointCoordinator['requestSavepoint']> {
    return this.checkpoints.requestSavepoint(req);
  }

  /** A stop-with-savepoint is under way (on other slots: call when told so, so the job ends as STOPPED). */
  markStoppingWithSavepoint(): void {
    this.lifecycle.beginSavepointStop();
  }

  /**
   * Simulates a crash: the loops stop where they are, no more checkpoints are taken, sinks
   * are closed without committing or aborting anything (transactions stay open, as after
   * SIGKILL). run() then rejects with TRIB_JOB_FAILED.
   */
  crash(): void {
    this.failure.markCrashed();
    this.coordinator?.stop('crash');
    void this.commitBarriers?.stop();
    for (const p of this.slots) p.slot.abort();
  }

  /** Stops the sources; the job then finishes what is in flight. `drain` fires all event-time windows. */
  stop(opts: { drain?: boolean } = {}): void {
    if (!this.lifecycle.requestStop()) return;
    // Before the sources hear of it: no checkpoint from here on may record what the stop ends (slot-checkpointer.ts).
    // A drain is asked for its output (every window fires with the final watermark): it keeps what it had.
    if (!opts.drain) for (const p of this.slots) p.checkpointer?.stopping('the job is stopping: its sources end');
    for (const p of this.slots) for (const src of p.sources) p.slot.post(() => src.requestStop(opts.drain ?? false));
  }

  /** Builds every slot's operators; stateful ones keep keyed state where `opts.stateBackend` says. */
  private operatorFactory(
    shape: Pick<OperatorFactoryOptions, 'parallelism' | 'maxParallelism' | 'metrics' | 'logger'>,
    opts: JobExecutorOptions,
  ): OperatorFactory {
    return new OperatorFactory({
      ...shape,
      graph: this.graph,
      dropped: this.dropped,
      functions: opts.functions,
      ...storeOpener(opts.stateBackend),
    });
  }

  /** Snapshots of every stateful operator of every slot, by step name (call when the job is finished or quiescent). */
  snapshotState(): Map<string, Uint8Array[]> {
    const out = new Map<string, Uint8Array[]>();
    for (const p of this.slots)
      for (const op of p.stateful) out.set(op.stateName, [...(out.get(op.stateName) ?? []), op.snapshotState()]);
    return out;
  }

  async run(): Promise<JobResult> {
    if (this.lifecycle.state !== 'CREATED') throw new TributaryError('TRIB_INVARIANT', 'a JobExecutor runs once');
    this.lifecycle.start();
    for (const p of this.slots) p.loadCounters.start(p.slot);
    const started = Date.now();
    const state = await runTasks({
      slots: this.slots,
      loops: this.loops,
      parallelism: this.parallelism,
      maxParallelism: this.maxParallelism,
      tasks: this.plan.tasks.length,
      job: this.opts,
      sinkOpening: this.sinkOpening,
      logger: this.logger,
      lifecycle: this.lifecycle,
      failure: this.failure,
      checkpoints: this.checkpoints,
      commitBarriers: this.commitBarriers,
    });
    const { recordsIn, recordsOut } = this;
    return this.dropped.ended({ state, recordsIn, recordsOut, durationMs: Date.now() - started });
  }
}

export { loadJobRestore, planJobRestore, readJobRestore, type LoadedRestore, type PlannedRestore };

/** Builds a JobExecutor on the state loadJobRestore gives (`loaded`, or loaded here). */
export async function createJobExecutor(
  graph: ValidatedGraph,
  opts: CreateJobExecutorOptions & RescaleTransports,
  loaded?: LoadedRestore,
): Promise<JobExecutor> {
  const r = loaded ?? (await loadJobRestore(graph, opts));
  if (!r) return new JobExecutor(graph, opts);
  return new JobExecutor(graph, { ...opts, maxParallelism: r.maxParallelism, restored: r.restored });
}

/** Validates nothing: expects a graph from validateGraph. Runs it to completion. */
export async function runJob(graph: ValidatedGraph, opts: ExecutorOptions): Promise<JobResult> {
  return new JobExecutor(graph, opts).run();
}
