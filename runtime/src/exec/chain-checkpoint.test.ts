// A barrier reaching a chain whose async operator (a lookup by key) still holds records waits
// for them: the snapshot is taken and the barrier forwarded only once the operator drained.
// The checkpointer records what the chain reports (the test observes the order, nothing fails).
import { describe, expect, it } from 'vitest';
import type { BarrierInjector, SlotCheckpointer, TaskSnapshot } from '../checkpoint/slot-checkpointer.ts';
import { ChainCheckpoint } from './chain-checkpoint.ts';
import { LocalChannel } from './channel.ts';
import type { CheckpointBarrier } from '../core/barrier.ts';

class RecordingCheckpointer {
  readonly snapshots: { id: number; snap: TaskSnapshot }[] = [];
  readonly finished: number[] = [];
  injector: BarrierInjector | undefined;
  registerTask(_task: unknown, injector?: BarrierInjector): number {
    this.injector = injector;
    return 0;
  }
  taskFinished(index: number): void {
    this.finished.push(index);
  }
  taskSnapshot(id: number, _index: number, snap: TaskSnapshot): void {
    this.snapshots.push({ id, snap });
  }
}

class HeldOperator {
  busy = false;
  private waiting: (() => void)[] = [];
  whenDrained(cb: () => void): void {
    if (!this.busy) cb();
    else this.waiting.push(cb);
  }
  drain(): void {
    this.busy = false;
    for (const cb of this.waiting.splice(0)) cb();
  }
}

const barrier = (id: number): CheckpointBarrier => ({ id, timestamp: 0, kind: 'checkpoint' });

describe('ChainCheckpoint with an async operator', () => {
  it('holds the snapshot and the barrier until the operator has drained', () => {
    const checkpointer = new RecordingCheckpointer();
    const chain = new ChainCheckpoint(checkpointer as unknown as SlotCheckpointer);
    const out = new LocalChannel(8);
    chain.channels.push(out);
    const op = new HeldOperator();
    chain.asyncOps.push(op);
    chain.attach({ done: false });

    chain.onBarrier(barrier(1), 0, { name: 'src', position: 5 });
    expect(checkpointer.snapshots.map((s) => s.id)).toEqual([1]);
    expect(out.poll()).toEqual({ kind: 'barrier', barrier: barrier(1) });

    op.busy = true;
    chain.onBarrier(barrier(2), 0, { name: 'src', position: 9 });
    expect(checkpointer.snapshots.length).toBe(1);
    expect(out.poll()).toBeUndefined();
    op.drain();
    expect(checkpointer.snapshots.map((s) => [s.id, s.snap.sources])).toEqual([
      [1, [{ name: 'src', position: 5 }]],
      [2, [{ name: 'src', position: 9 }]],
    ]);
    expect(out.poll()).toEqual({ kind: 'barrier', barrier: barrier(2) });
  });

  it('is not finished for checkpoints while its task ended but the operator still holds records', () => {
    const checkpointer = new RecordingCheckpointer();
    const chain = new ChainCheckpoint(checkpointer as unknown as SlotCheckpointer);
    const op = new HeldOperator();
    chain.asyncOps.push(op);
    const task = { done: false };
    const injected: number[] = [];
    chain.attach(task, {
      injector: {
        name: 'src',
        injectBarrier: (b) => {
          if (task.done) return false;
          injected.push(b.id);
          return true;
        },
      },
      position: () => ({ name: 'src', position: 'end' }),
    });
    // The source read its last record and ended; the operator still has calls in flight.
    op.busy = true;
    task.done = true;
    chain.onFinished();
    // A final snapshot now would store the end position without the results still to come.
    expect([chain.done, checkpointer.finished]).toEqual([false, []]);
    // A checkpoint triggered meanwhile takes part (its final snapshot comes once drained), not declined.
    expect(checkpointer.injector?.injectBarrier(barrier(3))).toBe(true);
    expect(injected).toEqual([]);
    op.drain();
    expect([chain.done, checkpointer.finished]).toEqual([true, [0]]);
  });
});
