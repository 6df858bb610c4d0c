// Per graph node counters of a slot (control/contract.ts NodeLoad, the dashboards' per-step
// numbers): records in and out, counted where the slot already counts its Prometheus
// `tributary_records_{in,out}_total{node}` — once per batch, into a field of an object the
// counting closure holds, so the hot path gains an addition and no lookup. Busy and
// backpressured time are not measured per node: a slot runs its nodes on one thread, and
// timing each node's share would put two clock reads around every batch of every node; the
// dashboards show the slot's share (SlotLoad) on each of its nodes instead, labelled as such.
import type { NodeLoad } from '../control/contract.ts';
import { MAX_WATERMARK, MIN_WATERMARK } from '../core/watermark.ts';
import type { StatefulOperator } from '../operators/types.ts';
import type { SinkOperator } from './sink-operator.ts';
import type { SourceTask } from './source-task.ts';

interface Counts {
  recordsIn: number;
  recordsOut: number;
}

export class NodeCounters {
  private readonly counts = new Map<string, Counts>();

  private entry(node: string): Counts {
    let c = this.counts.get(node);
    if (c === undefined) {
      c = { recordsIn: 0, recordsOut: 0 };
      this.counts.set(node, c);
    }
    return c;
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
  readonly nodeCounters: NodeCounters;
  readonly sources: readonly SourceTask[];
  readonly stateful: readonly StatefulOperator[];
  readonly sinks: readonly SinkOperator[];
}

/** A watermark worth reporting: neither "none yet" (−∞) nor "ended" (+∞). */
function shown(wm: number): boolean {
  return wm > MIN_WATERMARK && wm < MAX_WATERMARK;
}

/**
 * The nodes of this process's slots, counters summed over the slots (the control API answers
 * once per process), each node's watermark the lowest over them; undefined before any count.
 */
export function processNodeLoad(slots: readonly NodeLoadedSlot[]): NodeLoad[] | undefined {
  const nodes = new Map<string, { recordsIn: number; recordsOut: number; watermarkMs?: number }>();
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
    for (const [name, c] of p.nodeCounters.entries()) {
      const n = node(name);
      n.recordsIn += c.recordsIn;
      n.recordsOut += c.recordsOut;
    }
    for (const src of p.sources) watermark(src.sourceName, src.watermark);
    for (const op of p.stateful) {
      const et = op.eventTimeProgress?.();
      if (et) watermark(op.stateName, et.watermark);
    }
    for (const k of p.sinks) watermark(k.name, k.watermarkSeen);
  }
  if (nodes.size === 0) return undefined;
  return [...nodes].map(([name, n]) => ({ node: name, ...n }));
}
