// The node clock attributes each moment to the innermost node entered (self time), also when a
// call throws; a timed output keeps an operator's shape.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Batch } from '../core/batch.ts';
import type { MultiInputOperator, Output } from '../operators/types.ts';
import { NodeClock, timed, timedStep, type BusyCell } from './node-clock.ts';

let now = 0;
afterEach(() => vi.restoreAllMocks());
function fakeTime(): void {
  now = 0;
  vi.spyOn(performance, 'now').mockImplementation(() => now);
}

class Probe implements Output {
  private readonly spend: number;
  private readonly next: Output | undefined;
  constructor(spend: number, next?: Output) {
    this.spend = spend;
    this.next = next;
  }
  push(b: Batch): void {
    now += this.spend;
    this.next?.push(b);
    now += this.spend;
  }
  watermark(): void {
    now += this.spend;
  }
  idle(): void {}
  end(): void {
    throw new Error('boom');
  }
}

const batch = { n: 1 } as Batch;

describe('NodeClock', () => {
  it("gives each node its own time, not its chained successors'", () => {
    fakeTime();
    const clock = new NodeClock();
    const a: BusyCell = { busyMs: 0 };
    const b: BusyCell = { busyMs: 0 };
    const c: BusyCell = { busyMs: 0 };
    const out = timed(new Probe(1, timed(new Probe(2, timed(new Probe(5), clock, c)), clock, b)), clock, a);
    out.push(batch);
    expect([a.busyMs, b.busyMs, c.busyMs]).toEqual([2, 4, 10]);
    out.watermark(0); // only the head's watermark: Probe does not forward it
    expect([a.busyMs, b.busyMs, c.busyMs]).toEqual([3, 4, 10]);
    now += 100; // outside every frame: no node's
    out.push(batch);
    expect(a.busyMs + b.busyMs + c.busyMs).toBe(3 + 4 + 10 + 16);
  });

  it('closes a frame whose call throws: the caller that catches runs in its own frame again', () => {
    fakeTime();
    const clock = new NodeClock();
    const outer: BusyCell = { busyMs: 0 };
    const inner: BusyCell = { busyMs: 0 };
    const failing = timed(new Probe(1), clock, inner);
    const task = {
      name: 't',
      done: false,
      step: () => {
        now += 3;
        expect(() => failing.end()).toThrow('boom');
        now += 4;
        return true;
      },
    };
    expect(timedStep(task, clock, outer)()).toBe(true);
    expect(outer.busyMs).toBe(7);
    expect(inner.busyMs).toBe(0);
  });

  it('keeps pushInput on an operator of several inputs, timed', () => {
    fakeTime();
    const clock = new NodeClock();
    const cell: BusyCell = { busyMs: 0 };
    const seen: number[] = [];
    const join = Object.assign(new Probe(0), {
      pushInput(input: number) {
        now += 6;
        seen.push(input);
      },
    }) as Output & MultiInputOperator;
    const t = timed(join, clock, cell) as MultiInputOperator;
    t.pushInput(1, batch);
    expect(seen).toEqual([1]);
    expect(cell.busyMs).toBe(6);
    expect(typeof (timed(new Probe(0), clock, cell) as Partial<MultiInputOperator>).pushInput).toBe('undefined');
  });
});
