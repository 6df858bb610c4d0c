// A live rescale's old owner releases a moved partition's watermark floor at a barrier. With an async
// operator (mapAsync) in the source's chain that is busy when the barrier comes, the chain holds the
// barrier until the operator drained, while the operator queues every watermark behind its records. The
// floor must go only once the barrier is out: released at injection, its watermark jump was queued in
// the operator and left ahead of the barrier (channel order wm, barrier), so downstream could pass
// windows whose records of the moved partition still come through the new owner before that barrier.
// Real SourceTask, ChainCheckpoint and AsyncMapOperator; the reader is a two-partition stand-in and the
// channel records what reaches it.
import { describe, expect, it } from 'vitest';
import type { PollResult, RawRecords, SourceReader, SourceReaderContext, HandedWatermark } from '../connectors/api.ts';
import type { SlotCheckpointer, TaskSnapshot } from '../checkpoint/slot-checkpointer.ts';
import type { Batch } from '../core/batch.ts';
import type { CheckpointBarrier } from '../core/barrier.ts';
import { AsyncMapOperator } from '../operators/async-map.ts';
import type { Output } from '../operators/types.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { ChainCheckpoint } from './chain-checkpoint.ts';
import type { Channel } from '../core/channel.ts';
import type { Slot } from './slot.ts';
import { SourceTask } from './source-task.ts';

type Seen = { kind: 'records'; n: number } | { kind: 'wm'; wm: number } | { kind: 'barrier'; id: number };

/** Partition 0 stays at 5 s of event time, partition 1 (the one that moves) lags at 1 s. */
class TwoPartitions implements SourceReader {
  ctx: SourceReaderContext | undefined;
  private pending: { p: number; ts: number }[] = [
    { p: 0, ts: 5000 },
    { p: 1, ts: 1000 },
  ];
  async open(ctx: SourceReaderContext): Promise<void> {
    this.ctx = ctx;
    ctx.addPartition();
    ctx.addPartition();
  }
  poll(out: RawRecords, max: number): PollResult {
    const now = this.pending.splice(0, max);
    for (const r of now) out.add({ ts: r.ts }, r.p);
    return now.length > 0 ? 'data' : 'empty';
  }
  snapshotPosition(): unknown {
    return 'pos';
  }
  async close(): Promise<void> {}
}

const barrier = (id: number): CheckpointBarrier => ({ id, timestamp: 0, kind: 'checkpoint' });

describe('a moved partition’s floor behind an async operator', () => {
  it('is released only once the barrier the operator held is out: the watermark jump follows it', async () => {
    const seen: Seen[] = [];
    const mailbox: (() => void)[] = [];
    const slot = {
      index: 0,
      wake: () => {},
      schedule: () => {},
      post: (cb: () => void) => mailbox.push(cb),
    } as unknown as Slot;
    const sink: Output = {
      push: (b: Batch) => seen.push({ kind: 'records', n: b.n }),
      watermark: (wm) => seen.push({ kind: 'wm', wm }),
      idle: () => {},
      end: () => {},
    };
    // Calls settle only when the test says so: the operator is busy for as long as it likes.
    const calls: (() => void)[] = [];
    const op = new AsyncMapOperator(
      'enrich',
      (v) => new Promise((resolve) => calls.push(() => resolve(v))),
      {
        capacity: 8,
        timeoutMs: 60_000,
        onError: (e) => {
          throw e;
        },
      },
      sink,
      slot,
    );
    const snapshots: number[] = [];
    const checkpointer = {
      registerTask: () => 0,
      taskSnapshot: (id: number, _i: number, _s: TaskSnapshot) => snapshots.push(id),
      taskFinished: () => {},
    } as unknown as SlotCheckpointer;
    const chain = new ChainCheckpoint(checkpointer);
    chain.channels.push({
      send: (el: { kind: string; barrier?: CheckpointBarrier }) => {
        if (el.kind === 'barrier') seen.push({ kind: 'barrier', id: el.barrier!.id });
      },
    } as unknown as Channel);
    chain.asyncOps.push(op);
    const reader = new TwoPartitions();
    const task = new SourceTask({
      spec: {
        name: 'in',
        collection: { records: [] },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '0ms' },
      },
      reader,
      slot,
      parallelism: 1,
      out: op,
      outputs: [op],
      batchSize: 16,
      logger: silentLogger(),
      onRecords: () => {},
      onFailed: () => {},
      checkpoint: chain,
      checkpointing: true,
    });
    chain.attach(task);
    await task.open();
    const settleAll = async (): Promise<void> => {
      for (const c of calls.splice(0)) c();
      await new Promise((r) => setImmediate(r));
      for (const cb of mailbox.splice(0)) cb();
    };

    task.step(); // both records into the operator; the source's watermark is partition 1's: 999
    await settleAll();
    expect(seen.at(-1)).toEqual({ kind: 'wm', wm: 999 });
    seen.length = 0;

    // The hand-over: partition 1 moves on; its new owner caught up at barrier 7.
    const floor: HandedWatermark = reader.ctx!.floorPartition!(1);
    expect(floor.watermark).toBe(999);
    floor.releaseAt(7);

    // A record of partition 0 is in flight in the operator when barrier 7 comes.
    (reader as unknown as { pending: { p: number; ts: number }[] }).pending.push({ p: 0, ts: 5100 });
    task.step();
    expect(op.busy).toBe(true);
    expect(task.injectBarrier(barrier(7))).toBe(true);
    expect(snapshots).toEqual([]); // held until the operator drained

    await settleAll();
    expect(snapshots).toEqual([7]);
    const at = (k: Seen['kind'], pred: (s: Seen) => boolean = () => true) =>
      seen.findIndex((s) => s.kind === k && pred(s));
    const jump = at('wm', (s) => s.kind === 'wm' && s.wm > 999);
    expect(at('barrier'), JSON.stringify(seen)).toBeGreaterThanOrEqual(0);
    // Once released, the floor no longer holds partition 0's watermark back: it jumps, after the barrier.
    task.step();
    await settleAll();
    const after = at('wm', (s) => s.kind === 'wm' && s.wm > 999);
    expect(after, JSON.stringify(seen)).toBeGreaterThan(at('barrier'));
    expect(jump === -1 || jump > at('barrier'), JSON.stringify(seen)).toBe(true);
  });
});
