// Runs a validated graph in this process with N slots. Every slot runs one instance of
// every task (Flink's slot sharing): sources, chains between exchanges, and sinks.
// Hash exchanges connect every slot to every slot through bounded in-memory channels.
import type { Logger } from 'pino';
import type { SinkWriter } from '../connectors/api.ts';
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
}

/** One channel of an exchange: consumer task (by head node), its logical input, producer and consumer slot. */
export interface ChannelKey {
  consumer: string;
  input: number;
  from: number;
  to: number;
}

export interface JobStatus {
  state: 'CREATED' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'STOPPED';
  parallelism: number;
  recordsIn: number;
  recordsOut: number;
  /** Lowest watermark that reached the sinks (MIN when none yet). */
  watermark: number;
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
  sinks: SinkOperator[];
  stateful: StatefulOperator[];
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
  private stopRequested = false;
  private startedAt = 0;
  private recordsIn = 0;
  private recordsOut = 0;

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
      const parts: SlotParts = { slot: new Slot(s), sources: [], sinks: [], stateful: [] };
      this.slots.push(parts);
      this.slotByIndex.set(s, parts);
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

  private buildSlot(parts: SlotParts): void {
    const s = parts.slot.index;
    const writables: Writable[] = [];
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
        const k = p.key as NonNullable<NodeInfo['key']>;
        const selector: KeySelector = k.kind === 'fields' ? fieldsKeySelector(k.fields) : exprKeySelector(this.expr(`${producer}/key`, k.expr, this.node(p.inputs[0] as string).schema));
        return new HashExchange(selector, targets, this.maxParallelism, ctxFor(producer).metrics.expressionError);
      }
      const ch = this.channels.get(this.channelKey(consumer, input, s, s)) as Channel;
      writables.push(ch);
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
      const snaps = this.opts.restore?.get(op.stateName);
      if (snaps && snaps.length > 0) op.restoreState(snaps);
    };

    const build = (name: string): Output => {
      const node = this.node(name);
      if (node.role === 'sink') {
        const spec = this.graph.spec.sinks.find((x) => x.name === name) as SinkSpec;
        const writer: SinkWriter = this.opts.sinkWriter?.(spec, s) ?? createSinkWriter(spec);
        const counter = this.metrics.recordsOut.labels(name);
        const op = new SinkOperator(name, writer, (n) => {
          this.recordsOut += n;
          counter.inc(n);
        });
        parts.sinks.push(op);
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
        default:
          throw new TributaryError('TRIB_JOB_FAILED', `internal: cannot build ${node.kind} step ${name}`);
      }
    };

    for (const task of this.plan.tasks) {
      writables.length = 0;
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
        });
        parts.sources.push(src);
        parts.slot.addTask(src);
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
      parts.slot.addTask(new GateTask(`task:${task.head}`, inputs, op, [...writables]));
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
    return { state: this.state, parallelism: this.parallelism, recordsIn: this.recordsIn, recordsOut: this.recordsOut, watermark: any ? wm : MIN_WATERMARK };
  }

  /** Stops the sources; the job then finishes what is in flight. `drain` fires all event-time windows. */
  stop(opts: { drain?: boolean } = {}): void {
    if (this.stopRequested) return;
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

  async run(): Promise<JobResult> {
    if (this.state !== 'CREATED') throw new TributaryError('TRIB_JOB_FAILED', 'a LocalJob runs once');
    this.state = 'RUNNING';
    const started = Date.now();
    const sinks = this.slots.flatMap((p) => p.sinks.map((k) => ({ k, slot: p.slot })));
    const sources = this.slots.flatMap((p) => p.sources);
    try {
      await Promise.all(
        sinks.map(({ k, slot }) => k.writer.open({ sinkName: k.name, slot: slot.index, parallelism: this.parallelism, logger: this.logger, wake: slot.wake })),
      );
      await Promise.all(sources.map((s) => s.open()));
      this.logger.info({ parallelism: this.parallelism, maxParallelism: this.maxParallelism, tasks: this.plan.tasks.length }, 'job running');
      const loops = this.slots.map((p) =>
        p.slot.run().catch((e: unknown) => {
          for (const other of this.slots) other.slot.abort();
          throw e;
        }),
      );
      await Promise.all(loops);
    } catch (e) {
      this.state = 'FAILED';
      await Promise.allSettled([...sources.map((s) => s.close()), ...sinks.map(({ k }) => k.writer.close())]);
      if (e instanceof TributaryError) throw e;
      throw new TributaryError('TRIB_JOB_FAILED', `job failed: ${(e as Error).message}`, { cause: e });
    }
    await Promise.all(sources.map((s) => s.close()));
    await Promise.all(sinks.map(({ k }) => k.writer.close()));
    this.state = this.stopRequested ? 'STOPPED' : 'FINISHED';
    return { state: this.state, recordsIn: this.recordsIn, recordsOut: this.recordsOut, durationMs: Date.now() - started };
  }
}

function windowKind(w: WindowSpec): WindowKind {
  if (w.tumbling) return { kind: 'tumbling', size: parseDuration(w.tumbling.size) ?? 0, offset: parseDuration(w.tumbling.offset ?? '0') ?? 0 };
  if (w.sliding) return { kind: 'sliding', size: parseDuration(w.sliding.size) ?? 0, slide: parseDuration(w.sliding.slide) ?? 0 };
  return { kind: 'session', gap: parseDuration(w.session?.gap) ?? 0 };
}

/** Validates nothing: expects a graph from validateGraph. Runs it to completion. */
export async function runLocal(graph: ValidatedGraph, opts: LocalJobOptions): Promise<JobResult> {
  return new LocalJob(graph, opts).run();
}
