// Per graph node counters of a slot (control/contract.ts NodeLoad, the dashboards' per-step
// numbers): records in and out, counted where the slot already counts its Prometheus
// `tributary_records_{in,out}_total{node}` — once per batch, into a field of an object the
// counting closure holds, so the hot path gains an addition and no lookup. Busy time is each
// node's self time on the slot's thread (node-clock.ts); an async step's is its capacity in use
// (core/load-meter.ts CapacityClock, what bounds it: its calls wait off the thread). Backpressured
// time is its task's (the chain it runs in, as Flink reports it per task): every node of a
// chain waits when the chain's output is full. A stateful step's keyed state (NodeLoad.keyedState)
// is read from its backends at the answer, as the state gauges are at a scrape (job-gauges.ts):
// key counts and sizes kept as fields, and a disk store's stat of its few files, never per record.
import type { NodeKeyedState, NodeLoad } from '../control/contract.ts';
import { MAX_WATERMARK, MIN_WATERMARK } from '../core/watermark.ts';
import type { StatefulOperator } from '../operators/types.ts';
import type { BackpressureClock } from './backpressure-clock.ts';
import { NodeClock, type BusyCell } from './node-clock.ts';
import type { SinkOperator } from './sink-operator.ts';
import type { Slot } from './slot.ts';
import type { SourceTask } from './source-task.ts';

interface Counts extends BusyCell {
  recordsIn: number;
  recordsOut: number;
  /** The clock of the task the node runs in (set once the task is built). */
  backpressure?: BackpressureClock;
}

export class NodeCounters {
  private readonly counts = new Map<string, Counts>();
  /** The slot's node clock; undefined when the job does not time its nodes (a bench's peer). */
  readonly clock: NodeClock | undefined;

  constructor(timing = true) {
    this.clock = timing ? new NodeClock() : undefined;
  }

  private entry(node: string): Counts {
    let c = this.counts.get(node);
    if (c === undefined) {
      c = { recordsIn: 0, recordsOut: 0, busyMs: 0 };
      this.counts.set(node, c);
    }
    return c;
  }

  /** Where `node`'s self time adds up (the clock's frame for it). */
  cell(node: string): BusyCell {
    return this.entry(node);
  }

  /** `node` runs in the task `clock` measures: its backpressured time is the task's. */
  runsIn(node: string, clock: BackpressureClock): void {
    this.entry(node).backpressure = clock;
  }

  /** Adds `n` records into `node`. */
  countIn(node: string): (n: number) => void {
    const c = this.entry(node);
    return (n) => {
      c.recordsIn += n;
    };
  }

  /** Adds `n` records out of `node`. */
  countOut(node: string): (n: number) => void {
    const c = this.entry(node);
    return (n) => {
      c.recordsOut += n;
    };
  }

  entries(): IterableIterator<[string, Readonly<Counts>]> {
    return this.counts.entries();
  }
}

/** What of a slot (slot-builder.ts SlotParts) its nodes' load is read from. */
export interface NodeLoadedSlot {
  readonly slot: Slot;
  readonly nodeCounters: NodeCounters;
  readonly sources: readonly SourceTask[];
  readonly stateful: readonly StatefulOperator[];
  readonly sinks: readonly SinkOperator[];
}

/** A watermark worth reporting: neither "none yet" (−∞) nor "ended" (+∞). */
function shown(wm: number): boolean {
  return wm > MIN_WATERMARK && wm < MAX_WATERMARK;
}

interface Summed {
  recordsIn: number;
  recordsOut: number;
  busyMs?: number;
  backpressuredMs?: number;
  watermarkMs?: number;
  keyedState?: { -readonly [K in keyof NodeKeyedState]: NodeKeyedState[K] };
}

type Backend = NonNullable<StatefulOperator['keyedBackend']>;

/**
 * Adds one slot's backend of a step to the step's sums. A size of 0 is "none written yet" (as
 * the gauges read it): it adds nothing, so a size is absent until some slot wrote one.
 */
function addKeyedState(n: Summed, b: Backend): void {
  const s = (n.keyedState ??= { backend: 'heap', keys: 0 });
  s.keys += b.keyCount();
  if (b.written.full > 0) s.fullSnapshotBytes = (s.fullSnapshotBytes ?? 0) + b.written.full;
  if (b.written.delta > 0) s.deltaBytes = (s.deltaBytes ?? 0) + b.written.delta;
  if (!b.onDisk) return;
  s.backend = 'disk';
  let local: { localBytes: number; cachedEntries: number } | undefined;
  try {
    local = b.localStats();
  } catch {
    // A store's files stat'ed while they go (a slot closing its stores): the status still answers, without them.
    return;
  }
  if (local === undefined) return;
  s.localBytes = (s.localBytes ?? 0) + local.localBytes;
  s.cachedEntries = (s.cachedEntries ?? 0) + local.cachedEntries;
}

/**
 * The nodes of this process's slots, counters summed over the slots (the control API answers
 * once per process: slots sharing one thread split its time, so their sum is the thread's
 * share; slots on threads of their own may sum past wall time, which a reader caps at 1), each
 * node's watermark the lowest over them, a stateful step's keyed state summed over them;
 * undefined before any count.
 */
export function processNodeLoad(slots: readonly NodeLoadedSlot[]): NodeLoad[] | undefined {
  const nodes = new Map<string, Summed>();
  const node = (name: string) => {
    let n = nodes.get(name);
    if (n === undefined) {
      n = { recordsIn: 0, recordsOut: 0 };
      nodes.set(name, n);
    }
    return n;
  };
  const watermark = (name: string, wm: number) => {
    if (!shown(wm)) return;
    const n = node(name);
    n.watermarkMs = n.watermarkMs === undefined ? wm : Math.min(n.watermarkMs, wm);
  };
  for (const p of slots) {
    const timed = p.nodeCounters.clock !== undefined;
    const capacityBusy = timed ? p.slot.load.busyMs() : {};
    for (const [name, c] of p.nodeCounters.entries()) {
      const n = node(name);
      n.recordsIn += c.recordsIn;
      n.recordsOut += c.recordsOut;
      if (!timed) continue;
      // The slot's own reader (`eventLoop`) is no step's, whatever a step is named.
      const capacity = name === 'eventLoop' ? undefined : capacityBusy[name];
      n.busyMs = (n.busyMs ?? 0) + (capacity ?? c.busyMs);
      n.backpressuredMs = (n.backpressuredMs ?? 0) + (c.backpressure?.totalMs ?? 0);
    }
    for (const src of p.sources) watermark(src.sourceName, src.watermark);
    for (const op of p.stateful) {
      const et = op.eventTimeProgress?.();
      if (et) watermark(op.stateName, et.watermark);
      if (op.keyedBackend) addKeyedState(node(op.stateName), op.keyedBackend);
    }
    for (const k of p.sinks) watermark(k.name, k.watermarkSeen);
  }
  if (nodes.size === 0) return undefined;
  return [...nodes].map(([name, n]) => ({ node: name, ...n }));
}
