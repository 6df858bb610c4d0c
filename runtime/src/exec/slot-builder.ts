// Wires the tasks of the slots this process runs. Every slot runs one instance of every task
// of the plan (Flink's slot sharing): sources, chains between exchanges, and sinks. A hash
// exchange connects every slot to every slot through bounded channels: in memory when both
// ends run here, `remoteChannel` (e.g. TCP) when one end is another process's. A forward
// exchange stays within its slot. With checkpointing, or commit barriers (job-commit-barriers.ts),
// each task's chain registers with its slot's checkpointer (ChainCheckpoint) as it is built, and
// with the live migration when there is one (migration.ts). A slot that joins the running job
// (live rescale: join-local.ts) is built here too, and the running tasks' exchanges and gates are
// kept (task-links.ts) for the channels it adds.
import type { OutageBoard } from '../core/outage-board.ts';
import type { ReportOutage } from '../core/outage.ts';
import type { Logger } from 'pino';
import type { SlotCheckpointer } from '../checkpoint/slot-checkpointer.ts';
import type { SlotLoadCounters } from './slot-load.ts';
import type { NodeCounters } from './node-load.ts';
import { createSourceReader } from '../connectors/registry.ts';
import { alignmentMember, resolveAlignment } from '../graph/alignment.ts';
import { passThroughSources } from '../graph/pass-through.ts';
import { originsCross, restoresDeadLetterOrigins, tracksOrigins } from '../graph/origin-exchanges.ts';
import type { PhysicalPlan } from '../graph/plan.ts';
import type { SourceSpec } from '../graph/spec.ts';
import type { ValidatedGraph } from '../graph/validate.ts';
import { FanOut } from '../operators/fan-out.ts';
import { RestoredDeadLetterOrigins } from '../operators/restored-dead-letter-origins.ts';
import { functionTimestampAssigner } from '../functions/function-operators.ts';
import type { Output, StatefulOperator } from '../operators/types.ts';
import type { JobMetrics } from '../telemetry/metrics.ts';
import type { WatermarkAlignment } from '../time/watermark-alignment.ts';
import { BackpressureClock } from './backpressure-clock.ts';
import { ChainCheckpoint } from './chain-checkpoint.ts';
import type { Channel } from '../core/channel.ts';
import { SlotChannels } from './slot-channels.ts';
import { CountingOutput } from './counting-output.ts';
import { timed, timedStep } from './node-clock.ts';
import { ForwardExchange, HashExchange } from './exchange.ts';
import { GateTask, type GateInput } from './gate-task.ts';
import type { MigratingChain, MigratingChains } from './migrating-chain.ts';
import type { JobExecutorOptions } from './job-options.ts';
import type { OpenedTable, OperatorFactory, OperatorWiring } from './operator-factory.ts';
import type { AsyncOperator } from '../operators/async-operator.ts';
import { SinkOperator } from './sink-operator.ts';
import type { SinkOpening } from './sink-opening.ts';
import type { Slot, Task } from './slot.ts';
import { SourceTask, type Writable } from './source-task.ts';
import { TaskLinks, type ProducerLink } from './task-links.ts';

/** One slot of this process and what runs in it. */
export interface SlotParts {
  slot: Slot;
  sources: SourceTask[];
  /** Lookup tables of this slot's lookup steps: loaded before the sources open, closed at the end. */
  tables: OpenedTable[];
  sinks: SinkOperator[];
  stateful: StatefulOperator[];
  checkpointer: SlotCheckpointer | undefined;
  /** Its uptime and backpressure for StatusResponse.load (slot-load.ts). */
  loadCounters: SlotLoadCounters;
  /** Records in/out per node for StatusResponse.nodes (node-load.ts). */
  nodeCounters: NodeCounters;
}

export interface SlotBuilderOptions {
  graph: ValidatedGraph;
  plan: PhysicalPlan;
  parallelism: number;
  maxParallelism: number;
  job: JobExecutorOptions;
  /** The sinks' writers (opened by the job before its sources). */
  sinks: SinkOpening;
  operators: OperatorFactory;
  metrics: JobMetrics;
  logger: Logger;
  /** When the job was created (sources that generate data start their clock there). */
  jobStartTime: number;
  /** The process's watermark alignment groups (members declared by the executor). */
  alignment: WatermarkAlignment;
  /** Where sources report their external systems' outages. */
  outages: OutageBoard;
  onRecordsIn(n: number): void;
  onRecordsOut(n: number): void;
  /** Live rescale between this process's slots: every task's chain registers with it (with checkpointing). */
  migration?: MigratingChains;
}

/** A channel a slot's joining adds to a task that runs already: the producer's on `from`, the consumer's on `to`. */
export interface JoinedChannel {
  from: number;
  to: number;
  consumer: string;
  input: number;
  channel: Channel;
}

/** How one slot is wired: at the job's parallelism, or joining a running job at `parallelism` (join-local.ts). */
interface WiringShape {
  parallelism: number;
  /** The current owner of every key group: a joining slot's hash exchanges route by it (migration.ts). */
  owners?: Int32Array;
}

export class SlotBuilder {
  private readonly o: SlotBuilderOptions;
  private readonly channels: SlotChannels;
  /** The running tasks' exchanges and gates (a live rescale adds channels to them). */
  readonly links = new TaskLinks();

  /** Creates every channel with at least one end in `slots` (the executor's map: a joining slot is added to it). */
  constructor(o: SlotBuilderOptions, slots: ReadonlyMap<number, SlotParts>) {
    this.o = o;
    this.channels = new SlotChannels(o.job, slots);
    for (const task of o.plan.tasks)
      for (const inp of task.inputs)
        for (let from = 0; from < o.parallelism; from++)
          for (let to = 0; to < o.parallelism; to++) this.channels.make(task.head, inp, from, to);
  }

  /** Builds every task of the plan into `parts.slot`. */
  build(parts: SlotParts): void {
    new SlotWiring(this.o, this.channels, parts, { parallelism: this.o.parallelism }, this.links).buildTasks();
  }

  /**
   * Slot `parts` (in the executor's map already, its index the number of slots so far) joins the running job: makes
   * the channels between it and every slot (all in this process: live rescale needs that), builds its tasks — their
   * inputs from every slot at once, their hash exchanges routing by `owners` — and returns the channels that tasks
   * of the other slots gain (join-local.ts adds them, in those slots' loops).
   */
  join(parts: SlotParts, owners: Int32Array): JoinedChannel[] {
    const s = parts.slot.index;
    const gained = this.joinChannels(s);
    this.buildJoining(parts, owners, s + 1);
    return gained;
  }

  /**
   * Makes the channels between joining slot `s` and every slot 0..s that have an end here (those of a slot of another
   * process cross it: join-across.ts), and returns those the running tasks here gain.
   */
  joinChannels(s: number): JoinedChannel[] {
    const gained: JoinedChannel[] = [];
    for (const task of this.o.plan.tasks)
      for (const inp of task.inputs)
        for (let other = 0; other <= s; other++)
          for (const [from, to] of other === s
            ? [[s, s]]
            : [
                [other, s],
                [s, other],
              ]) {
            const channel = this.channels.make(task.head, inp, from as number, to as number);
            if (channel && other !== s)
              gained.push({ from: from as number, to: to as number, consumer: task.head, input: inp.input, channel });
          }
    return gained;
  }

  /** Builds joining slot `parts` at `parallelism`: its hash exchanges route by `owners`, its backends own nothing. */
  buildJoining(parts: SlotParts, owners: Int32Array, parallelism: number): void {
    this.o.operators.joining(parts.slot.index);
    new SlotWiring(this.o, this.channels, parts, { parallelism, owners }, this.links).buildTasks();
  }
}

/** The wiring of one slot; `writables` and `chain` belong to the task being built. */
class SlotWiring implements OperatorWiring {
  private readonly o: SlotBuilderOptions;
  private readonly channels: SlotChannels;
  private readonly parts: SlotParts;
  /** Adds seconds to this slot's backpressure counter. */
  private readonly backpressured: (sec: number) => void;
  /** What the task being built writes into: it runs only while all are writable. */
  private readonly writables: Writable[] = [];
  /** The chain being built (one per task) when checkpointing. */
  private chain: ChainCheckpoint | undefined;
  private readonly shape: WiringShape;
  private readonly links: TaskLinks;
  /** The hash exchanges of the task being built (their task is set once it exists). */
  private readonly taskExchanges: ProducerLink[] = [];

  constructor(o: SlotBuilderOptions, channels: SlotChannels, parts: SlotParts, shape: WiringShape, links: TaskLinks) {
    this.o = o;
    this.channels = channels;
    this.parts = parts;
    this.shape = shape;
    this.links = links;
    const bpCounter = o.metrics.backpressuredSeconds.labels(String(parts.slot.index));
    this.backpressured = (sec) => {
      bpCounter.inc(sec);
      parts.loadCounters.addBackpressured(sec);
    };
  }

  buildTasks(): void {
    const { plan, operators } = this.o;
    const { parallelism } = this.shape;
    const s = this.parts.slot.index;
    for (const task of plan.tasks) {
      this.writables.length = 0;
      this.taskExchanges.length = 0;
      this.chain = this.parts.checkpointer ? new ChainCheckpoint(this.parts.checkpointer) : undefined;
      if (operators.node(task.head).role === 'source') {
        this.sourceTask(task.head);
        continue;
      }
      const op = this.build(task.head);
      const inputs: GateInput[] = [];
      for (const inp of task.inputs) {
        for (let from = 0; from < parallelism; from++) {
          const ch = this.channels.get(task.head, inp.input, from, s);
          if (ch) inputs.push({ channel: ch, input: inp.input });
        }
      }
      const gate = new GateTask(`task:${task.head}`, inputs, op, [...this.writables], this.chain);
      const inCounter = this.o.metrics.recordsIn.labels(task.head);
      const nodeIn = this.parts.nodeCounters.countIn(task.head);
      gate.onRecordsIn = (n) => {
        inCounter.inc(n);
        nodeIn(n);
      };
      gate.backpressure = this.parts.loadCounters.track(new BackpressureClock(this.backpressured));
      this.chainRunsIn(task.head, gate.backpressure);
      this.addTask(gate, task.head);
      this.linked(gate);
      this.links.consumers.push({ slot: s, head: task.head, gate });
      this.chain?.attach(gate);
      this.migrating(gate);
    }
  }

  private sourceTask(name: string): void {
    const { job, metrics } = this.o;
    const parts = this.parts;
    const s = parts.slot.index;
    const spec = this.o.graph.spec.sources.find((x) => x.name === name) as SourceSpec;
    const out = this.outputsOf(name);
    const chain = this.chain;
    const align = resolveAlignment(spec);
    const nodeIn = parts.nodeCounters.countIn(name);
    const backpressure = parts.loadCounters.track(new BackpressureClock(this.backpressured));
    this.chainRunsIn(name, backpressure);
    const src = new SourceTask({
      spec,
      reader: createSourceReader(spec, {
        jobStartTime: this.o.jobStartTime,
        passThrough: passThroughSources(this.o.graph.spec).has(spec.name),
        origins: tracksOrigins(this.o.graph.spec),
        metrics: metrics.registry,
      }),
      slot: parts.slot,
      // A joining slot's reader runs at the starting parallelism and owns nothing (SourceReaderContext.joining).
      parallelism: this.o.parallelism,
      out,
      outputs: [...this.writables],
      batchSize: job.batchSize ?? 1024,
      logger: this.o.logger,
      onRecords: (n) => {
        this.o.onRecordsIn(n);
        nodeIn(n);
      },
      onFailed: (reason) => metrics.sourceRecordsFailed.labels(spec.name, reason).inc(),
      checkpoint: chain,
      restoredPositions: this.shape.owners ? undefined : job.restored?.sources.get(spec.name),
      ...(this.shape.owners ? { joining: true } : {}),
      checkpointing: job.checkpointing !== undefined, // a chain also runs commit barriers without checkpointing
      onLag: (n) => metrics.sourceLag.labels(spec.name, String(s)).set(n),
      reportOutage: this.o.outages.reporter(`source:${spec.name}:${s}`),
      backpressure,
      timestampAssigner: functionTimestampAssigner(job.functions, spec),
      ...(job.kafkaIdScope ? { kafkaIdScope: job.kafkaIdScope } : {}),
      ...(align
        ? {
            alignment: {
              hub: this.o.alignment,
              group: align.group,
              member: alignmentMember(spec.name, s),
              driftMs: align.driftMs,
            },
          }
        : {}),
    });
    parts.sources.push(src);
    this.addTask(src, name);
    this.linked(src);
    chain?.attach(src, { injector: src, position: () => src.finalPosition() });
    this.migrating(undefined, { name: spec.name, reader: src.reader });
  }

  /** The task just built holds the exchanges built for it. */
  private linked(task: NonNullable<ProducerLink['task']>): void {
    for (const l of this.taskExchanges) l.task = task;
  }

  /** Adds a task to the slot, its steps in `node`'s frame when the job times its nodes. */
  private addTask(task: Task, node: string): void {
    const clock = this.parts.nodeCounters.clock;
    this.parts.slot.addTask(task, clock && timedStep(task, clock, this.parts.nodeCounters.cell(node)));
  }

  /** Every node of the task headed by `head` waits when that task's output is full. */
  private chainRunsIn(head: string, clock: BackpressureClock): void {
    const { plan } = this.o;
    const task = plan.tasks[plan.taskOf.get(head) as number];
    for (const node of task?.nodes ?? [head]) this.parts.nodeCounters.runsIn(node, clock);
  }

  /** `out`, a chained node's input, in that node's frame when the job times its nodes. */
  private timedInput(node: string, out: Output): Output {
    const clock = this.parts.nodeCounters.clock;
    return clock ? timed(out, clock, this.parts.nodeCounters.cell(node)) : out;
  }

  /** Registers the task just built with the live migration (its chain, its gate). */
  private migrating(gate: GateTask | undefined, source?: MigratingChain['source']): void {
    const slot = this.parts.slot;
    if (this.chain)
      this.o.migration?.addChain({ slot: slot.index, chain: this.chain, gate, post: (cb) => slot.post(cb), source });
  }

  /** OperatorWiring: a node's chained successors (built here) and its exchanges. */
  outputsOf(name: string): Output {
    const { plan, metrics, operators } = this.o;
    const node = operators.node(name);
    const outs: Output[] = [];
    for (const c of node.consumers) {
      if (node.kind === 'window') continue; // the window operator builds its own outputs
      if (operators.node(c).role === 'sideOutput') continue; // built by its producer (late, error records)
      if (plan.taskOf.get(c) === plan.taskOf.get(name) && plan.tasks[plan.taskOf.get(c) as number]?.head !== c) {
        // A chained consumer has no task of its own to count what enters it (a sink counts its own).
        const built = this.timedInput(c, this.build(c));
        outs.push(
          operators.node(c).role === 'sink' ? built : new CountingOutput(built, this.parts.nodeCounters.countIn(c)),
        );
      } else outs.push(this.exchangeTo(c, name));
    }
    const out = outs.length === 1 ? (outs[0] as Output) : new FanOut(outs);
    if (node.role === 'sink') return out;
    const nodeOut = this.parts.nodeCounters.countOut(name);
    if (node.kind === 'keyBy') return new CountingOutput(out, nodeOut);
    const counter = metrics.recordsOut.labels(name);
    // A window and the aggregate after it run as one operator (operator-factory.ts), which emits
    // through the aggregate's outputs: what leaves the window is what enters the aggregate.
    const window = node.kind === 'aggregate' ? node.inputs.find((i) => operators.node(i).kind === 'window') : undefined;
    const windowOut = window === undefined ? undefined : this.parts.nodeCounters.countOut(window);
    const fusedIn = window === undefined ? undefined : this.parts.nodeCounters.countIn(name);
    return new CountingOutput(out, (n) => {
      counter.inc(n);
      nodeOut(n);
      windowOut?.(n);
      fusedIn?.(n);
    });
  }

  stateful(op: StatefulOperator): void {
    this.parts.stateful.push(op);
    this.chain?.stateful.push(op);
    const cp = this.o.job.checkpointing;
    if (cp !== undefined && cp.incremental !== false) op.keyedBackend?.trackChanges();
    const backend = op.keyedBackend;
    if (backend?.onDisk === true) this.parts.slot.addSafePoint(() => backend.maintain());
    if (this.shape.owners) return; // a joining slot restores nothing: its state arrives by migration steps
    const snaps = this.o.job.restore?.get(op.stateName) ?? this.o.job.restored?.keyed.get(op.stateName);
    if (snaps && snaps.length > 0) op.restoreState(snaps);
  }

  table(t: OpenedTable): void {
    this.parts.tables.push(t);
  }

  outageReporter(key: string): ReportOutage {
    return this.o.outages.reporter(key);
  }

  asyncOperator(op: AsyncOperator): void {
    this.writables.push(op);
    this.chain?.asyncOps.push(op);
    this.addTask(op, op.name);
  }

  private build(name: string): Output {
    if (this.o.operators.node(name).role === 'sink') {
      const input = this.o.operators.sinkInput(name, this.sink(name), this.parts.slot, this);
      return restoresDeadLetterOrigins(this.o.graph, name) ? new RestoredDeadLetterOrigins(input) : input;
    }
    return this.o.operators.build(name, this.parts.slot, this);
  }

  private sink(name: string): SinkOperator {
    const { metrics } = this.o;
    const writer = this.o.sinks.writer(name, this.parts.slot.index, this.parts.slot.wake);
    const counter = metrics.recordsOut.labels(name);
    const inCounter = metrics.recordsIn.labels(name);
    const nodeIn = this.parts.nodeCounters.countIn(name);
    const nodeOut = this.parts.nodeCounters.countOut(name);
    const op = new SinkOperator(name, writer, (n) => {
      this.o.onRecordsOut(n);
      counter.inc(n);
      inCounter.inc(n);
      nodeIn(n);
      nodeOut(n);
    });
    this.parts.sinks.push(op);
    this.chain?.sinks.push(op);
    this.writables.push({
      get writable() {
        return !writer.backpressured;
      },
    });
    return op;
  }

  private exchangeTo(consumer: string, producer: string): Output {
    const { maxParallelism, operators } = this.o;
    const { parallelism, owners } = this.shape;
    const s = this.parts.slot.index;
    const input = operators.node(consumer).inputs.indexOf(producer);
    if (operators.node(producer).kind === 'keyBy') {
      const targets: Channel[] = [];
      for (let to = 0; to < parallelism; to++) targets.push(this.channels.get(consumer, input, s, to) as Channel);
      this.writables.push(...targets);
      this.chain?.channels.push(...targets);
      const exchange = new HashExchange(
        operators.keySelector(producer),
        targets,
        maxParallelism,
        operators.context(producer, this.parts.slot).metrics.expressionError,
        originsCross(this.o.graph, producer, consumer),
      );
      // A joining slot routes as the running slots do now: key groups move to it only by steps (migration.ts).
      if (owners) for (let kg = 0; kg < maxParallelism; kg++) exchange.reassign([kg], owners[kg] as number);
      this.chain?.exchanges.push(exchange);
      const link: ProducerLink = { slot: s, consumer, input, exchange, chain: this.chain, task: undefined };
      this.taskExchanges.push(link);
      this.links.producers.push(link);
      return exchange;
    }
    const ch = this.channels.get(consumer, input, s, s) as Channel;
    this.writables.push(ch);
    this.chain?.channels.push(ch);
    return new ForwardExchange(ch, originsCross(this.o.graph, producer, consumer));
  }
}
