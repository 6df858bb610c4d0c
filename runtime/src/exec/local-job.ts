// Runs a validated graph in this process with N slots. Every slot runs one instance of
// every task (Flink's slot sharing): sources, chains between exchanges, and sinks.
// Hash exchanges connect every slot to every slot through bounded in-memory channels.
import type { Logger } from 'pino';
import { CheckpointCoordinator, type CompletedCheckpoint } from '../checkpoint/coordinator.ts';
import type { CoordinatorPort, SlotCheckpointPort } from '../checkpoint/messages.ts';
import { graphHash, readMetadata } from '../checkpoint/metadata.ts';
import { committablesForSlot, loadRestore, type RestoredState } from '../checkpoint/restore-plan.ts';
import { SlotCheckpointer } from '../checkpoint/slot-checkpointer.ts';
import type { CloseOutcome, SinkWriter } from '../connectors/api.ts';
import { checkExecutable, createSinkWriter, createSourceReader } from '../connectors/registry.ts';
import { TributaryError } from '../errors.ts';
import { compileExpr, type CompiledExpr } from '../expr/cel.ts';
import { parseDuration } from '../graph/duration.ts';
import { keyOutputFields } from '../graph/keys.ts';
import { planGraph, type PhysicalPlan } from '../graph/plan.ts';
import type { SinkSpec, SourceSpec, StepSpec, WindowSpec } from '../graph/spec.ts';
import type { NodeInfo, ValidatedGraph } from '../graph/validate.ts';
import { createAggregator } from '../operators/aggregators.ts';
import { DedupeOperator } from '../operators/dedupe.ts';
import { LookupOperator } from '../operators/lookup.ts';
import { LookupTable } from '../connectors/druid/lookup-table.ts';
import { Counter } from 'prom-client';
import { FanOut } from '../operators/fan-out.ts';
import { FilterOperator } from '../operators/filter.ts';
import { FlatMapOperator } from '../operators/flat-map.ts';
import { IntervalJoinOperator } from '../operators/interval-join.ts';
import { exprKeySelector, fieldsKeySelector, type KeySelector } from '../operators/key-selector.ts';
import { MapOperator } from '../operators/map.ts';
import { RollingAggregateOperator } from '../operators/rolling-aggregate.ts';
import { type OperatorContext, type Output, type StatefulOperator } from '../operators/types.ts';
import { UnionOperator } from '../operators/union.ts';
import { WindowAggregateOperator } from '../operators/window-aggregate.ts';
import type { WindowKind } from '../operators/window-assigner.ts';
import { defaultMaxParallelism, keyGroupRangeForSlot } from '../state/key-groups.ts';
import { JobMetrics } from '../telemetry/metrics.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { MAX_WATERMARK, MIN_WATERMARK } from '../time/watermark.ts';
import { BackpressureClock } from './backpressure-clock.ts';
import { ChainCheckpoint } from './chain-checkpoint.ts';
import { LocalChannel, type Channel } from './channel.ts';
import { CountingOutput } from './counting-output.ts';
import { ForwardExchange, HashExchange } from './exchange.ts';
import { GateTask, type GateInput } from './gate-task.ts';
import { SinkOperator } from './sink-operator.ts';
import { Slot } from './slot.ts';
import { SourceTask, type Writable } from './source-task.ts';

export interface LocalJobOptions {
  parallelism: number;
  maxParallelism?: number;
  logger?: Logger;
  metrics?: JobMetrics;
  /** Records per source poll. Default 1024. */
  batchSize?: number;
  /** Batches queued per channel before the producer stops. Default 16. */
  channelCapacity?: number;
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
  /** Periodic aligned checkpoints into `stateDir` (savepoints need a stateDir too). */
  checkpointing?: CheckpointingOptions;
  /** A checkpoint/savepoint loaded by `loadRestore` (createLocalJob does it from a path). */
  restored?: RestoredState;
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
}

export interface CheckpointingOptions {
  stateDir: string;
  /** 0 or absent: no periodic checkpoints (savepoints and triggerCheckpoint only). */
  intervalMs?: number;
  timeoutMs?: number;
  retained?: number;
}

/** One channel of an exchange: consumer task (by head node), its logical input, producer and consumer slot. */
export interface ChannelKey {
  consumer: string;
  input: number;
  from: number;
  to: number;
}

export interface JobStatus {
  state: 'CREATED' | 'RUNNING' | 'STOPPING' | 'FINISHED' | 'FAILED' | 'STOPPED';
  parallelism: number;
  recordsIn: number;
  recordsOut: number;
  /** Lowest watermark that reached the sinks (MIN when none yet). */
  watermark: number;
  lastCheckpoint?: CompletedCheckpoint;
  restoredFrom?: string;
  error?: string;
}

export interface JobResult {
  state: 'FINISHED' | 'STOPPED';
  recordsIn: number;
  recordsOut: number;
  durationMs: number;
}

interface SlotParts {
  slot: Slot;
  sources: SourceTask[];
  /** Lookup tables of this slot's lookup steps: loaded before the sources open, closed at the end. */
  tables: LookupTable[];
  sinks: SinkOperator[];
  stateful: StatefulOperator[];
  checkpointer: SlotCheckpointer | undefined;
}

/** Delivers a message on a later turn, as a transport would: no re-entrancy between coordinator and slots. */
function asyncPort<T extends object>(target: T): T {
  return new Proxy(target, {
    get(t, prop) {
      const v = (t as Record<string | symbol, unknown>)[prop];
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        queueMicrotask(() => (v as (...a: unknown[]) => void).apply(t, args));
      };
    },
  });
}

export class LocalJob {
  readonly graph: ValidatedGraph;
  readonly plan: PhysicalPlan;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly metrics: JobMetrics;
  private readonly logger: Logger;
  private readonly opts: LocalJobOptions;
  private readonly slots: SlotParts[] = [];
  private readonly channels = new Map<string, Channel>();
  private readonly slotByIndex = new Map<number, SlotParts>();
  private readonly exprCache = new Map<string, CompiledExpr>();
  private state: JobStatus['state'] = 'CREATED';
  /** Any stop: stop() or a stop-with-savepoint under way (the sinks then close as 'stopped'). */
  private stopRequested = false;
  /** stop() was called (a failed stop-with-savepoint does not undo it). */
  private stopCalled = false;
  private startedAt = 0;
  private recordsIn = 0;
  private recordsOut = 0;
  /** The checkpoint coordinator, when slot 0 runs here and the job has a stateDir. */
  readonly coordinator: CheckpointCoordinator | undefined;
  private stoppingWithSavepoint = false;
  /** Id of the stop-with-savepoint whose barrier passed this process's sources. */
  private stopSavepointId: number | undefined;
  private stopSavepointSettled: (() => void) | undefined;
  private stopSavepointDone = new Promise<void>((r) => {
    this.stopSavepointSettled = r;
  });
  private loopsEnded = false;
  private crashed = false;
  private failure: unknown;
  private readonly commits = new Set<Promise<void>>();
  private readonly restoredFrom: string | undefined;

  constructor(graph: ValidatedGraph, opts: LocalJobOptions) {
    if (!Number.isInteger(opts.parallelism) || opts.parallelism < 1) throw new TributaryError('TRIB_CLI_USAGE', `parallelism must be a positive integer, got ${opts.parallelism}`);
    this.graph = graph;
    this.opts = opts;
    this.parallelism = opts.parallelism;
    this.maxParallelism = opts.maxParallelism ?? defaultMaxParallelism(opts.parallelism);
    if (this.maxParallelism < this.parallelism) throw new TributaryError('TRIB_CLI_USAGE', `maxParallelism ${this.maxParallelism} is below parallelism ${this.parallelism}`);
    this.logger = opts.logger ?? silentLogger();
    this.metrics = opts.metrics ?? new JobMetrics();
    checkExecutable({ sources: graph.spec.sources, sinks: graph.spec.sinks });
    this.plan = planGraph(graph);
    this.startedAt = Date.now();
    for (const s of opts.slots ?? [...Array(this.parallelism).keys()]) {
      if (!Number.isInteger(s) || s < 0 || s >= this.parallelism) throw new TributaryError('TRIB_CLI_USAGE', `slot ${s} is outside [0, ${this.parallelism})`);
      const parts: SlotParts = { slot: new Slot(s), sources: [], tables: [], sinks: [], stateful: [], checkpointer: undefined };
      this.slots.push(parts);
      this.slotByIndex.set(s, parts);
    }
    const restored = opts.restored;
    this.restoredFrom = restored?.path;
    if (restored && restored.metadata.maxParallelism !== this.maxParallelism) {
      throw new TributaryError('TRIB_RESTORE_MAX_PARALLELISM', `${restored.path} has maxParallelism ${restored.metadata.maxParallelism}; this job has ${this.maxParallelism}`);
    }
    const cp = opts.checkpointing;
    if (cp) {
      const coordinatorRef: { c?: CheckpointCoordinator } = {};
      const toCoordinator: CoordinatorPort = this.slotByIndex.has(0)
        ? asyncPort<CoordinatorPort>({ acknowledge: (a) => coordinatorRef.c?.acknowledge(a), decline: (d) => coordinatorRef.c?.decline(d) })
        : (opts.checkpointTransport?.coordinator ?? missingTransport('coordinator'));
      for (const parts of this.slots) {
        const s = parts.slot.index;
        parts.checkpointer = new SlotCheckpointer({
          slot: s,
          keyGroupRange: keyGroupRangeForSlot(s, this.parallelism, this.maxParallelism),
          // After the loops ended (stop-with-savepoint finishing), notifications run at once.
          post: (cb) => (this.loopsEnded ? cb() : parts.slot.post(cb)),
          coordinator: toCoordinator,
          logger: this.logger,
          onComplete: (id) => {
            this.onCheckpointComplete(parts, id);
            this.settleStopSavepoint(id);
          },
          onAborted: (id) => {
            this.settleStopSavepoint(id);
            if (id === this.stopSavepointId) this.resumeAfterFailedStop();
          },
          onStopBarrier: (id) => {
            this.stopSavepointId = id;
            this.markStoppingWithSavepoint();
          },
        });
      }
      if (this.slotByIndex.has(0)) {
        const ports: SlotCheckpointPort[] = [];
        for (let s = 0; s < this.parallelism; s++) {
          const local = this.slotByIndex.get(s)?.checkpointer;
          ports.push(local ? asyncPort<SlotCheckpointPort>(local) : (opts.checkpointTransport?.slot?.(s) ?? missingTransport(`slot ${s}`)));
        }
        this.coordinator = new CheckpointCoordinator({
          stateDir: cp.stateDir,
          slots: ports,
          maxParallelism: this.maxParallelism,
          graphHash: graphHash(graph.spec),
          intervalMs: cp.intervalMs,
          timeoutMs: cp.timeoutMs,
          retained: cp.retained,
          restoredCheckpointId: restored?.checkpointId,
          logger: this.logger,
          metrics: this.metrics,
        });
        coordinatorRef.c = this.coordinator;
        this.coordinator.onStopSavepointFailed = () => this.resumeAfterFailedStop();
      }
    }
    this.createChannels();
    for (const parts of this.slots) this.buildSlot(parts);
    this.metrics.onCollect(() => {
      for (const p of this.slots) {
        if (p.sinks.length === 0) continue;
        const wm = Math.min(...p.sinks.map((k) => k.watermarkSeen));
        if (wm > MIN_WATERMARK && wm < MAX_WATERMARK) this.metrics.watermark.labels(String(p.slot.index)).set(wm);
      }
    });
  }

  private channelKey(consumer: string, input: number, from: number, to: number): string {
    return `${consumer}|${input}|${from}|${to}`;
  }

  private createChannels(): void {
    const cap = this.opts.channelCapacity ?? 16;
    for (const task of this.plan.tasks) {
      for (const inp of task.inputs) {
        for (let from = 0; from < this.parallelism; from++) {
          for (let to = 0; to < this.parallelism; to++) {
            if (inp.exchange === 'forward' && from !== to) continue;
            const producer = this.slotByIndex.get(from);
            const consumer = this.slotByIndex.get(to);
            let ch: Channel;
            if (producer && consumer) {
              const local = new LocalChannel(cap);
              local.connect(consumer.slot.wake, producer.slot.wake);
              ch = local;
            } else if (producer || consumer) {
              if (!this.opts.remoteChannel) throw new TributaryError('TRIB_JOB_FAILED', `internal: channel ${from}→${to} crosses processes but no remoteChannel was given`);
              ch = this.opts.remoteChannel({ consumer: task.head, input: inp.input, from, to }, (producer ?? (consumer as SlotParts)).slot.wake);
            } else continue;
            this.channels.set(this.channelKey(task.head, inp.input, from, to), ch);
          }
        }
      }
    }
  }

  private node(name: string): NodeInfo {
    return this.graph.nodes.get(name) as NodeInfo;
  }

  private stepSpec(name: string): StepSpec {
    return (this.graph.spec.steps ?? []).find((s) => s.name === name) as StepSpec;
  }

  private expr(cacheKey: string, source: string, schema: NodeInfo['schema'], extra?: Record<string, 'map'>): CompiledExpr {
    let e = this.exprCache.get(cacheKey);
    if (!e) {
      e = compileExpr(source, schema, extra);
      this.exprCache.set(cacheKey, e);
    }
    return e;
  }

  /** The checkpoint port of a slot running in this process (for a transport delivering trigger/notify messages). */
  slotCheckpointPort(slot: number): SlotCheckpointPort | undefined {
    return this.slotByIndex.get(slot)?.checkpointer;
  }

  private buildSlot(parts: SlotParts): void {
    const s = parts.slot.index;
    const writables: Writable[] = [];
    const restored = this.opts.restored;
    const bpCounter = this.metrics.backpressuredSeconds.labels(String(s));
    /** The chain being built (one per task) when checkpointing. */
    let chain: ChainCheckpoint | undefined;
    const addChannels = (chs: Channel[]): void => {
      chain?.channels.push(...chs);
    };
    const ctxFor = (step: string): OperatorContext => ({
      stepName: step,
      slot: s,
      parallelism: this.parallelism,
      maxParallelism: this.maxParallelism,
      keyGroupRange: keyGroupRangeForSlot(s, this.parallelism, this.maxParallelism),
      processingTime: parts.slot,
      metrics: {
        lateRecordsDropped: (n) => this.metrics.lateRecordsDropped.labels(step).inc(n),
        expressionError: (e) => {
          this.metrics.expressionErrors.labels(step).inc();
          this.logger.debug({ step, err: (e as Error).message }, 'expression failed on a record; record dropped');
        },
      },
    });

    const exchangeTo = (consumer: string, producer: string): Output => {
      const c = this.node(consumer);
      const input = c.inputs.indexOf(producer);
      const p = this.node(producer);
      if (p.kind === 'keyBy') {
        const targets: Channel[] = [];
        for (let to = 0; to < this.parallelism; to++) targets.push(this.channels.get(this.channelKey(consumer, input, s, to)) as Channel);
        writables.push(...targets);
        addChannels(targets);
        const k = p.key as NonNullable<NodeInfo['key']>;
        const selector: KeySelector = k.kind === 'fields' ? fieldsKeySelector(k.fields) : exprKeySelector(this.expr(`${producer}/key`, k.expr, this.node(p.inputs[0] as string).schema));
        return new HashExchange(selector, targets, this.maxParallelism, ctxFor(producer).metrics.expressionError);
      }
      const ch = this.channels.get(this.channelKey(consumer, input, s, s)) as Channel;
      writables.push(ch);
      addChannels([ch]);
      return new ForwardExchange(ch);
    };

    const outputsOf = (name: string): Output => {
      const node = this.node(name);
      const outs: Output[] = [];
      for (const c of node.consumers) {
        if (node.kind === 'window') continue; // the window operator builds its own outputs
        if (this.plan.taskOf.get(c) === this.plan.taskOf.get(name) && this.plan.tasks[this.plan.taskOf.get(c) as number]?.head !== c) outs.push(build(c));
        else outs.push(exchangeTo(c, name));
      }
      const out = outs.length === 1 ? (outs[0] as Output) : new FanOut(outs);
      if (node.kind === 'keyBy' || node.role === 'sink') return out;
      const counter = this.metrics.recordsOut.labels(name);
      return new CountingOutput(out, (n) => counter.inc(n));
    };

    const restoreInto = (op: StatefulOperator): void => {
      parts.stateful.push(op);
      chain?.stateful.push(op);
      const snaps = this.opts.restore?.get(op.stateName) ?? restored?.keyed.get(op.stateName);
      if (snaps && snaps.length > 0) op.restoreState(snaps);
    };

    const build = (name: string): Output => {
      const node = this.node(name);
      if (node.role === 'sink') {
        const spec = this.graph.spec.sinks.find((x) => x.name === name) as SinkSpec;
        const writer: SinkWriter = this.opts.sinkWriter?.(spec, s) ?? createSinkWriter(spec, { checkpointing: this.opts.checkpointing !== undefined });
        const counter = this.metrics.recordsOut.labels(name);
        const inCounter = this.metrics.recordsIn.labels(name);
        const op = new SinkOperator(name, writer, (n) => {
          this.recordsOut += n;
          counter.inc(n);
          inCounter.inc(n);
        });
        parts.sinks.push(op);
        chain?.sinks.push(op);
        writables.push({
          get writable() {
            return !writer.backpressured;
          },
        });
        return op;
      }
      if (node.role === 'sideOutput') throw new TributaryError('TRIB_JOB_FAILED', `internal: side output ${name} built directly`);
      const spec = this.stepSpec(name);
      const inSchema = this.node(node.inputs[0] as string).schema;
      const ctx = ctxFor(name);
      switch (node.kind) {
        case 'filter':
          return new FilterOperator(this.expr(`${name}/filter`, spec.filter as string, inSchema), ctx, outputsOf(name));
        case 'map': {
          const fields: Record<string, CompiledExpr> = {};
          for (const [f, e] of Object.entries(spec.map ?? {})) fields[f] = this.expr(`${name}/map/${f}`, e, inSchema);
          return new MapOperator(fields, ctx, outputsOf(name));
        }
        case 'flatMap':
          return new FlatMapOperator(this.expr(`${name}/flatMap`, spec.flatMap?.expr as string, inSchema), spec.flatMap?.as, ctx, outputsOf(name));
        case 'keyBy':
          return outputsOf(name);
        case 'window': {
          const aggName = node.consumers.find((c) => this.node(c).kind === 'aggregate') as string;
          const aggNode = this.node(aggName);
          const w = spec.window as WindowSpec;
          const lateName = w.lateOutput;
          const aggregates = (aggNode.aggregates ?? []).map((call) => createAggregator(call, call.expr === undefined ? undefined : this.expr(`${aggName}/${call.output}`, call.expr, inSchema)));
          const op = new WindowAggregateOperator(
            name,
            {
              window: windowKind(w),
              eventTime: (w.time ?? 'event') === 'event',
              allowedLateness: parseDuration(w.allowedLateness ?? '0') ?? 0,
              keyFields: keyOutputFields(node.key as NonNullable<NodeInfo['key']>),
              aggregates,
            },
            ctx,
            outputsOf(aggName),
            lateName ? outputsOf(lateName) : undefined,
          );
          restoreInto(op);
          return op;
        }
        case 'aggregate': {
          const aggregates = (node.aggregates ?? []).map((call) => createAggregator(call, call.expr === undefined ? undefined : this.expr(`${name}/${call.output}`, call.expr, inSchema)));
          const op = new RollingAggregateOperator(name, keyOutputFields(node.key as NonNullable<NodeInfo['key']>), aggregates, ctx, outputsOf(name));
          restoreInto(op);
          return op;
        }
        case 'union':
          return new UnionOperator(outputsOf(name));
        case 'join': {
          const j = spec.join as NonNullable<StepSpec['join']>;
          let select: Record<string, CompiledExpr> | undefined;
          if (j.select) {
            select = {};
            for (const [f, e] of Object.entries(j.select)) select[f] = this.expr(`${name}/select/${f}`, e, {}, { left: 'map', right: 'map' });
          }
          const op = new IntervalJoinOperator(name, { lowerBound: parseDuration(j.lowerBound) ?? 0, upperBound: parseDuration(j.upperBound) ?? 0, select }, ctx, outputsOf(name));
          restoreInto(op);
          return op;
        }
        case 'dedupe': {
          const op = new DedupeOperator(name, parseDuration(spec.dedupe?.within) ?? 0, ctx, outputsOf(name));
          restoreInto(op);
          return op;
        }
        case 'lookup': {
          const l = spec.lookup as NonNullable<StepSpec['lookup']>;
          const src = this.graph.spec.sources.find((x) => x.name === l.table) as SourceSpec;
          const table = new LookupTable({ name: l.table, spec: src.druid as NonNullable<SourceSpec['druid']>, column: l.column, logger: this.logger, onRefresh: (r) => this.lookupRefreshes().labels(l.table, r).inc() });
          parts.tables.push(table);
          return new LookupOperator(table, { key: this.expr(`${name}/lookup/key`, l.key, inSchema), column: l.column, ...(l.fields ? { fields: l.fields } : {}), onMissing: l.onMissing ?? 'keep' }, ctx, outputsOf(name));
        }
        default:
          throw new TributaryError('TRIB_JOB_FAILED', `internal: cannot build ${node.kind} step ${name}`);
      }
    };

    for (const task of this.plan.tasks) {
      writables.length = 0;
      chain = parts.checkpointer ? new ChainCheckpoint(parts.checkpointer) : undefined;
      const head = this.node(task.head);
      if (head.role === 'source') {
        const spec = this.graph.spec.sources.find((x) => x.name === task.head) as SourceSpec;
        const out = outputsOf(task.head);
        const src = new SourceTask({
          spec,
          reader: createSourceReader(spec, { jobStartTime: this.startedAt }),
          slot: parts.slot,
          parallelism: this.parallelism,
          out,
          outputs: [...writables],
          batchSize: this.opts.batchSize ?? 1024,
          logger: this.logger,
          onRecords: (n) => {
            this.recordsIn += n;
          },
          onFailed: (reason) => this.metrics.sourceRecordsFailed.labels(spec.name, reason).inc(),
          checkpoint: chain,
          restoredPositions: restored?.sources.get(spec.name),
          checkpointing: chain !== undefined,
          onLag: (n) => this.metrics.sourceLag.labels(spec.name, String(s)).set(n),
          backpressure: new BackpressureClock((sec) => bpCounter.inc(sec)),
        });
        parts.sources.push(src);
        parts.slot.addTask(src);
        chain?.attach(src, { injector: src, position: () => src.finalPosition() });
        continue;
      }
      const op = build(task.head);
      const inputs: GateInput[] = [];
      for (const inp of task.inputs) {
        for (let from = 0; from < this.parallelism; from++) {
          const ch = this.channels.get(this.channelKey(task.head, inp.input, from, s));
          if (ch) inputs.push({ channel: ch, input: inp.input });
        }
      }
      const gate = new GateTask(`task:${task.head}`, inputs, op, [...writables], chain);
      const inCounter = this.metrics.recordsIn.labels(task.head);
      gate.onRecordsIn = (n) => inCounter.inc(n);
      gate.backpressure = new BackpressureClock((sec) => bpCounter.inc(sec));
      parts.slot.addTask(gate);
      chain?.attach(gate);
    }
  }

  status(): JobStatus {
    let wm = MAX_WATERMARK;
    let any = false;
    for (const p of this.slots) {
      for (const k of p.sinks) {
        any = true;
        if (k.watermarkSeen < wm) wm = k.watermarkSeen;
      }
    }
    const st: JobStatus = { state: this.state, parallelism: this.parallelism, recordsIn: this.recordsIn, recordsOut: this.recordsOut, watermark: any ? wm : MIN_WATERMARK };
    if (this.coordinator?.lastCompleted) st.lastCheckpoint = this.coordinator.lastCompleted;
    if (this.restoredFrom) st.restoredFrom = this.restoredFrom;
    if (this.failure !== undefined) st.error = (this.failure as Error).message;
    return st;
  }

  /**
   * A stop-with-savepoint failed (aborted, declined, timed out, or not triggered at all): the
   * job runs on, as in Flink, so that a retry can succeed; its sources read on from where the
   * barrier cut them. Idempotent (slot 0 hears of it from the coordinator and as an abort).
   */
  private resumeAfterFailedStop(): void {
    if (!this.stoppingWithSavepoint) return;
    const id = this.stopSavepointId;
    this.stoppingWithSavepoint = false;
    this.stopSavepointId = undefined;
    this.stopRequested = this.stopCalled;
    this.stopSavepointDone = new Promise<void>((r) => {
      this.stopSavepointSettled = r;
    });
    if (this.state === 'STOPPING' && !this.stopCalled) this.state = 'RUNNING';
    this.logger.warn({ savepoint: id }, 'stop-with-savepoint failed: the job keeps running');
    if (id !== undefined) for (const p of this.slots) for (const src of p.sources) p.slot.post(() => src.resumeAfterFailedStop(id));
  }

  private settleStopSavepoint(id: number): void {
    if (this.stopSavepointId !== undefined && id >= this.stopSavepointId) this.stopSavepointSettled?.();
  }

  private onCheckpointComplete(parts: SlotParts, id: number): void {
    for (const src of parts.sources) src.notifyCheckpointComplete(id);
    for (const k of parts.sinks) {
      const c = k.writer.notifyCheckpointComplete?.(id);
      if (!c) continue;
      const p: Promise<void> = c.catch((e: unknown) => this.fail(e)).finally(() => this.commits.delete(p));
      this.commits.add(p);
    }
  }

  /**
   * End of input with checkpointing (FLIP-147): the job finishes only after a final
   * checkpoint, taken when every task of every slot had finished, completed; its completion
   * makes the sinks commit the last output (close('finished') then has nothing left). Slot 0
   * triggers checkpoints until one is final; every process waits for the final completion
   * notification (its sinks' commits are then under way; run() awaits them before close).
   */
  private async finalCheckpoint(): Promise<void> {
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    let all = false;
    const finalDone = Promise.all(this.slots.map((p) => p.checkpointer?.finalCompleted)).then(() => {
      all = true;
    });
    this.logger.info('input ended; waiting for the final checkpoint');
    if (this.coordinator) {
      let failures = 0;
      // A periodic checkpoint may be the final one: then the one triggered here after it will
      // never complete (the other slots exit after the final notification) — stop waiting.
      while (!all) {
        this.throwIfFailed();
        try {
          const t = this.coordinator.trigger('checkpoint', false);
          t.catch(() => undefined);
          const c = await Promise.race([t, finalDone.then(() => undefined)]);
          failures = 0;
          if (c === undefined || c.final) break;
        } catch (e) {
          if (++failures > 10) throw new TributaryError('TRIB_CHECKPOINT_FAILED', `the final checkpoint failed ${failures} times: ${(e as Error).message}`, { cause: e });
          this.logger.warn({ err: (e as Error).message }, 'final checkpoint not taken; retrying');
        }
        await sleep(100);
      }
    }
    while (!all) {
      this.throwIfFailed();
      await sleep(20);
    }
  }

  private throwIfFailed(): void {
    if (this.crashed) throw new TributaryError('TRIB_JOB_FAILED', 'job crashed (simulated): stopped without committing');
    if (this.failure !== undefined) throw this.failure;
  }

  /** Fails the job from outside a slot loop (e.g. a sink commit failed). */
  private fail(e: unknown): void {
    this.failure ??= e;
    this.logger.error({ err: (e as Error).message }, 'job failing');
    for (const p of this.slots) p.slot.abort();
  }

  /** Triggers a checkpoint now (tests, benchmarks); resolves when it completed. */
  triggerCheckpoint(): Promise<CompletedCheckpoint> {
    if (!this.coordinator) throw new TributaryError('TRIB_CHECKPOINT_FAILED', 'checkpointing is not configured here (no stateDir, or slot 0 runs elsewhere)');
    return this.coordinator.trigger('checkpoint', false);
  }

  /**
   * Triggers a savepoint. With `stop` (stop-with-savepoint) the sources end right after its
   * barrier; once it completes the sinks commit and the job finishes (run() resolves STOPPED).
   */
  triggerSavepoint(opts: { stop?: boolean } = {}): Promise<CompletedCheckpoint> {
    if (!this.coordinator) throw new TributaryError('TRIB_CHECKPOINT_FAILED', 'savepoints need a stateDir and slot 0 in this process');
    if (opts.stop) this.markStoppingWithSavepoint();
    return this.coordinator.trigger('savepoint', opts.stop ?? false);
  }

  /** The control API's savepoint request (idempotent by requestId). */
  requestSavepoint(req: { stop: boolean; requestId?: string }): ReturnType<CheckpointCoordinator['requestSavepoint']> {
    if (!this.coordinator) throw new TributaryError('TRIB_CHECKPOINT_FAILED', 'savepoints need a stateDir and slot 0 in this process');
    const st = this.coordinator.requestSavepoint(req);
    if (req.stop && st.state === 'IN_PROGRESS') this.markStoppingWithSavepoint();
    return st;
  }

  /** A stop-with-savepoint is under way (on other slots: call when told so, so the job ends as STOPPED). */
  markStoppingWithSavepoint(): void {
    this.stoppingWithSavepoint = true;
    this.stopRequested = true;
    if (this.state === 'RUNNING') this.state = 'STOPPING';
  }

  /**
   * Simulates a crash: the loops stop where they are, no more checkpoints are taken, sinks
   * are closed without committing or aborting anything (transactions stay open, as after
   * SIGKILL). run() then rejects with TRIB_JOB_FAILED.
   */
  crash(): void {
    this.crashed = true;
    this.coordinator?.stop('crash');
    for (const p of this.slots) p.slot.abort();
  }

  /** Stops the sources; the job then finishes what is in flight. `drain` fires all event-time windows. */
  stop(opts: { drain?: boolean } = {}): void {
    if (this.stopCalled) return;
    this.stopCalled = true;
    this.stopRequested = true;
    for (const p of this.slots) for (const src of p.sources) p.slot.post(() => src.requestStop(opts.drain ?? false));
  }

  /** Snapshots of every stateful operator of every slot, by step name (call when the job is finished or quiescent). */
  snapshotState(): Map<string, Uint8Array[]> {
    const out = new Map<string, Uint8Array[]>();
    for (const p of this.slots) {
      for (const op of p.stateful) {
        const list = out.get(op.stateName) ?? [];
        list.push(op.snapshotState());
        out.set(op.stateName, list);
      }
    }
    return out;
  }

  /** tributary_lookup_refreshes_total{table, result}: loads of lookup tables (result ok|failed). */
  private lookupRefreshes(): Counter<'table' | 'result'> {
    const name = 'tributary_lookup_refreshes_total';
    return (this.metrics.registry.getSingleMetric(name) as Counter<'table' | 'result'> | undefined)
      ?? new Counter({ name, help: 'Loads of lookup tables (a failed refresh keeps the last table)', labelNames: ['table', 'result'], registers: [this.metrics.registry] });
  }

  /** run() resolves only after every state file write settled: its caller may remove the state directory right after. */
  private async stateWritesSettled(): Promise<void> {
    await Promise.all(this.slots.map((p) => p.checkpointer?.settled()));
  }

  async run(): Promise<JobResult> {
    if (this.state !== 'CREATED') throw new TributaryError('TRIB_JOB_FAILED', 'a LocalJob runs once');
    this.state = 'RUNNING';
    const started = Date.now();
    const sinks = this.slots.flatMap((p) => p.sinks.map((k) => ({ k, slot: p.slot })));
    const sources = this.slots.flatMap((p) => p.sources);
    const tables = this.slots.flatMap((p) => p.tables);
    try {
      await Promise.all(
        sinks.map(({ k, slot }) =>
          k.writer.open({
            sinkName: k.name,
            slot: slot.index,
            parallelism: this.parallelism,
            logger: this.logger,
            wake: slot.wake,
            jobName: this.opts.jobName ?? 'job',
            registry: this.metrics.registry,
            ...(this.opts.checkpointing ? { checkpointing: { stateDir: this.opts.checkpointing.stateDir } } : {}),
            ...(this.opts.restored ? { restoredCommittables: committablesForSlot(this.opts.restored.sinks.get(k.name), slot.index, this.parallelism) } : {}),
          }),
        ),
      );
      await Promise.all(tables.map((t) => t.open()));
      await Promise.all(sources.map((s) => s.open()));
      await this.coordinator?.start();
      this.logger.info({ parallelism: this.parallelism, maxParallelism: this.maxParallelism, tasks: this.plan.tasks.length }, 'job running');
      const loops = this.slots.map((p) =>
        p.slot.run().catch((e: unknown) => {
          for (const other of this.slots) other.slot.abort();
          throw e;
        }),
      );
      await Promise.all(loops);
      if (this.crashed) throw new TributaryError('TRIB_JOB_FAILED', 'job crashed (simulated): stopped without committing');
      if (this.failure !== undefined) throw this.failure;
      // A stop-with-savepoint completes after the tasks ended (its acks are written
      // asynchronously); then the sinks commit it. Any other pending checkpoint is abandoned.
      if (this.opts.checkpointing) {
        this.loopsEnded = true;
        for (const p of this.slots) p.slot.drainMailbox();
        if (this.stoppingWithSavepoint) {
          // Slot 0 waits for the savepoint to complete; other processes for its outcome
          // (notifyComplete/notifyAborted from slot 0), bounded by the checkpoint timeout.
          if (this.coordinator) await this.coordinator.quiesce();
          else if (this.stopSavepointId !== undefined) {
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([this.stopSavepointDone, new Promise<void>((r) => (timer = setTimeout(r, this.opts.checkpointing?.timeoutMs ?? 600_000)))]);
            if (timer) clearTimeout(timer);
          }
        } else if (!this.stopRequested) await this.finalCheckpoint();
        this.coordinator?.stop();
        for (const p of this.slots) p.slot.drainMailbox();
        await this.stateWritesSettled();
        while (this.commits.size > 0) await Promise.all([...this.commits]);
        if (this.failure !== undefined) throw this.failure;
      }
    } catch (e) {
      this.state = 'FAILED';
      this.failure ??= e;
      this.coordinator?.stop('job failed');
      // Commits already under way belong to completed checkpoints; let them end before the sinks close.
      await Promise.allSettled([...this.commits]);
      await this.stateWritesSettled();
      for (const t of tables) t.close();
      await Promise.allSettled([...sources.map((s) => s.close()), ...sinks.map(({ k }) => k.writer.close('failed'))]);
      if (e instanceof TributaryError) throw e;
      throw new TributaryError('TRIB_JOB_FAILED', `job failed: ${(e as Error).message}`, { cause: e });
    }
    for (const t of tables) t.close();
    await Promise.all(sources.map((s) => s.close()));
    const outcome: CloseOutcome = this.stopRequested ? 'stopped' : 'finished';
    await Promise.all(sinks.map(({ k }) => k.writer.close(outcome)));
    this.state = this.stopRequested ? 'STOPPED' : 'FINISHED';
    return { state: this.state, recordsIn: this.recordsIn, recordsOut: this.recordsOut, durationMs: Date.now() - started };
  }
}

function windowKind(w: WindowSpec): WindowKind {
  if (w.tumbling) return { kind: 'tumbling', size: parseDuration(w.tumbling.size) ?? 0, offset: parseDuration(w.tumbling.offset ?? '0') ?? 0 };
  if (w.sliding) return { kind: 'sliding', size: parseDuration(w.sliding.size) ?? 0, slide: parseDuration(w.sliding.slide) ?? 0 };
  return { kind: 'session', gap: parseDuration(w.session?.gap) ?? 0 };
}

function missingTransport(what: string): never {
  throw new TributaryError('TRIB_JOB_FAILED', `internal: checkpointing with slots in other processes needs checkpointTransport.${what === 'coordinator' ? 'coordinator' : 'slot'} (${what})`);
}

/** Options of createLocalJob: LocalJobOptions plus a checkpoint/savepoint path to restore from. */
export interface CreateJobOptions extends LocalJobOptions {
  restoreFrom?: string;
  allowNonRestoredState?: boolean;
}

/**
 * Builds a LocalJob, first loading and verifying the checkpoint/savepoint to restore from
 * (maxParallelism defaults to the restored state's). Fails with a TRIB_RESTORE_* error
 * rather than starting from empty state when it does not fit.
 */
export async function createLocalJob(graph: ValidatedGraph, opts: CreateJobOptions): Promise<LocalJob> {
  if (!opts.restoreFrom) return new LocalJob(graph, opts);
  const maxParallelism = opts.maxParallelism ?? (await readMetadata(opts.restoreFrom)).maxParallelism;
  const restored = await loadRestore(opts.restoreFrom, {
    graph,
    parallelism: opts.parallelism,
    maxParallelism,
    allowNonRestoredState: opts.allowNonRestoredState ?? false,
    logger: opts.logger,
  });
  return new LocalJob(graph, { ...opts, maxParallelism, restored });
}

/** Validates nothing: expects a graph from validateGraph. Runs it to completion. */
export async function runLocal(graph: ValidatedGraph, opts: LocalJobOptions): Promise<JobResult> {
  return new LocalJob(graph, opts).run();
}
