// Busy time per graph node on one slot's thread (control/contract.ts NodeLoad.busyMs, the
// dashboards' per-step busy share): self time, as a profiler counts it. A slot runs its nodes
// on one thread, each node calling the next in its chain synchronously, so the time inside a
// node's call includes its chained successors'; the clock attributes every moment to the
// innermost node entered, never to two. One clock read per frame entered or left, per batch
// (not per record): the cost is measured in bench/node-timing.ts.
// Invariants: a cell's busyMs never decreases; frames nest (each enter is followed by its leave,
// also when the call throws); time outside every frame (waiting, timers, the control API) is
// no node's.
import type { MultiInputOperator, Output } from '../operators/types.ts';
import type { Batch } from '../core/batch.ts';
import type { Task } from './slot.ts';

/** Where a node's self time adds up (node-load.ts keeps one per node, beside its record counts). */
export interface BusyCell {
  busyMs: number;
}

export class NodeClock {
  private current: BusyCell | undefined;
  private since = 0;

  /** Starts `cell`'s frame; returns the frame it interrupts, for `leave`. */
  enter(cell: BusyCell): BusyCell | undefined {
    const now = performance.now();
    const outer = this.current;
    if (outer !== undefined) outer.busyMs += now - this.since;
    this.current = cell;
    this.since = now;
    return outer;
  }

  /** Ends the innermost frame; the interrupted one runs on. */
  leave(outer: BusyCell | undefined): void {
    const now = performance.now();
    if (this.current !== undefined) this.current.busyMs += now - this.since;
    this.current = outer;
    this.since = now;
  }
}

/** An Output whose every call runs in `cell`'s frame: a chained node's input. */
export class TimedOutput implements Output {
  protected readonly inner: Output;
  protected readonly clock: NodeClock;
  protected readonly cell: BusyCell;

  constructor(inner: Output, clock: NodeClock, cell: BusyCell) {
    this.inner = inner;
    this.clock = clock;
    this.cell = cell;
  }

  push(b: Batch): void {
    const outer = this.clock.enter(this.cell);
    try {
      this.inner.push(b);
    } finally {
      this.clock.leave(outer);
    }
  }

  watermark(wm: number): void {
    const outer = this.clock.enter(this.cell);
    try {
      this.inner.watermark(wm);
    } finally {
      this.clock.leave(outer);
    }
  }

  idle(idle: boolean): void {
    const outer = this.clock.enter(this.cell);
    try {
      this.inner.idle(idle);
    } finally {
      this.clock.leave(outer);
    }
  }

  end(): void {
    const outer = this.clock.enter(this.cell);
    try {
      this.inner.end();
    } finally {
      this.clock.leave(outer);
    }
  }
}

/** A TimedOutput of an operator with several inputs (a join, a union): `pushInput` is timed too. */
class TimedMultiInput extends TimedOutput implements MultiInputOperator {
  pushInput(input: number, b: Batch): void {
    const outer = this.clock.enter(this.cell);
    try {
      (this.inner as MultiInputOperator).pushInput(input, b);
    } finally {
      this.clock.leave(outer);
    }
  }
}

/** `out` timed in `cell`'s frame, keeping its shape (an operator of several inputs stays one). */
export function timed(out: Output, clock: NodeClock, cell: BusyCell): Output {
  return typeof (out as MultiInputOperator).pushInput === 'function'
    ? new TimedMultiInput(out, clock, cell)
    : new TimedOutput(out, clock, cell);
}

/** A task whose steps run in `cell`'s frame (a source's reading, a chain head's input, an async step's results). */
export function timedStep(task: Task, clock: NodeClock, cell: BusyCell): () => boolean {
  return () => {
    const outer = clock.enter(cell);
    try {
      return task.step();
    } finally {
      clock.leave(outer);
    }
  };
}
