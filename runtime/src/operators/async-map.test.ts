// The mapAsync operator's ordering, capacity, checkpoint hold, error policy, timeout and end,
// with calls the test settles when and in the order it chooses (a real service answers in its
// own order, not one a test can pick). Results reach the operator only through the mailbox.
import { describe, expect, it } from 'vitest';
import type { SlotCheckpointer, TaskSnapshot } from '../checkpoint/slot-checkpointer.ts';
import type { CheckpointBarrier } from '../core/barrier.ts';
import { isTributaryError } from '../errors.ts';
import { ChainCheckpoint } from '../exec/chain-checkpoint.ts';
import { LocalChannel } from '../exec/channel.ts';
import { functionErrorPolicy } from '../functions/function-lookup.ts';
import { batchOf, CollectingOutput, testContext } from '../testing/harness.ts';
import { AsyncMapOperator, type AsyncMapOptions } from './async-map.ts';

class Mailbox {
  readonly queued: (() => void)[] = [];
  post(cb: () => void): void {
    this.queued.push(cb);
  }
  /** Waits (microtasks, then timers) until something was posted, then runs all of it. */
  async run(): Promise<void> {
    for (let i = 0; this.queued.length === 0; i++)
      await (i < 50 ? Promise.resolve() : new Promise((r) => setTimeout(r, 1)));
    while (this.queued.length > 0) (this.queued.shift() as () => void)();
  }
}

/** Calls the test settles by hand; counts how many are open at once. */
class HeldCalls {
  readonly open = new Map<unknown, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  maxOpen = 0;
  calls = 0;
  readonly fn = (v: unknown): Promise<unknown> => {
    this.calls++;
    return new Promise((resolve, reject) => {
      this.open.set((v as { id: number }).id, { resolve, reject });
      this.maxOpen = Math.max(this.maxOpen, this.open.size);
    });
  };
  resolve(id: number, v: unknown): void {
    this.take(id).resolve(v);
  }
  reject(id: number, e: unknown): void {
    this.take(id).reject(e);
  }
  private take(id: number) {
    const c = this.open.get(id);
    if (!c) throw new Error(`no call open for ${id}`);
    this.open.delete(id);
    return c;
  }
}

const recs = (ids: number[], ts = 0) => batchOf(ids.map((id) => [{ id }, ts + id]));

function setup(o: Partial<AsyncMapOptions> = {}, wrap = (fn: HeldCalls['fn']) => fn) {
  const held = new HeldCalls();
  const out = new CollectingOutput();
  const mailbox = new Mailbox();
  const skipped: { err: unknown; rec: unknown }[] = [];
  const op = new AsyncMapOperator(
    'enrich',
    wrap(held.fn),
    { capacity: 10, timeoutMs: 60_000, onError: (err, rec) => skipped.push({ err, rec }), ...o },
    out,
    mailbox,
  );
  return { held, out, mailbox, op, skipped };
}

describe('AsyncMapOperator', () => {
  it('emits results in input order whatever order calls complete in; watermarks and idleness wait', async () => {
    const { held, out, mailbox, op } = setup();
    op.push(recs([1, 2, 3]));
    op.watermark(3);
    op.idle(true);
    op.push(recs([4, 5]));
    op.watermark(5);
    expect(held.open.size).toBe(5);
    for (const id of [5, 3, 2, 4]) held.resolve(id, { id, r: id * 10 });
    await mailbox.run();
    expect([out.records, out.watermarks]).toEqual([[], []]); // 1 is still open: everything waits behind it
    held.resolve(1, { id: 1, r: 10 });
    await mailbox.run();
    expect(out.records).toEqual([1, 2, 3, 4, 5].map((id) => ({ rec: { id, r: id * 10 }, ts: id })));
    expect([out.watermarks, out.idles, op.busy, op.calls]).toEqual([[3, 5], [true], false, 0]);
  });

  it('sends a watermark after the records before it and before those after it', async () => {
    const { held, out, mailbox, op } = setup();
    const seen: string[] = [];
    out.push = (b) => {
      for (let i = 0; i < b.n; i++) seen.push(`r${(b.recs[i] as { id: number }).id}`);
    };
    out.watermark = (wm) => seen.push(`w${wm}`);
    op.push(recs([1]));
    op.watermark(1);
    op.push(recs([2]));
    held.resolve(2, { id: 2 });
    held.resolve(1, { id: 1 });
    await mailbox.run();
    expect(seen).toEqual(['r1', 'w1', 'r2']);
  });

  it('never has more than capacity calls open; is not writable while capacity records wait', async () => {
    const { held, out, mailbox, op } = setup({ capacity: 3 });
    const ids = Array.from({ length: 40 }, (_, i) => i);
    op.push(recs(ids.slice(0, 2)));
    expect([held.open.size, op.writable]).toEqual([2, true]);
    op.push(recs(ids.slice(2))); // one batch larger than the capacity: its records wait for a call
    expect([held.open.size, op.writable]).toEqual([3, false]);
    op.end();
    let round = 0;
    while (!op.done) {
      // Settle the open calls in a shuffled order, a few at a time.
      const open = [...held.open.keys()] as number[];
      const pick = open[(round * 7) % open.length] as number;
      held.resolve(pick, { id: pick });
      await mailbox.run();
      expect(held.open.size).toBeLessThanOrEqual(3);
      expect(op.calls).toBe(held.open.size);
      round++;
    }
    expect(held.maxOpen).toBe(3);
    expect(held.calls).toBe(40);
    expect(out.records.map((e) => (e.rec as { id: number }).id)).toEqual(ids);
    expect([out.ended, op.writable]).toEqual([true, true]);
  });

  it('holds a checkpoint barrier until its calls are in; the snapshot comes after their results', async () => {
    const { held, out, mailbox, op } = setup();
    const snapshots: { id: number; recordsOut: number }[] = [];
    const checkpointer = {
      registerTask: () => 0,
      taskSnapshot: (id: number, _i: number, _s: TaskSnapshot) =>
        snapshots.push({ id, recordsOut: out.records.length }),
    };
    const chain = new ChainCheckpoint(checkpointer as unknown as SlotCheckpointer);
    const downstream = new LocalChannel(8);
    chain.channels.push(downstream);
    chain.asyncOps.push(op);
    chain.attach({ done: false });
    const barrier: CheckpointBarrier = { id: 7, timestamp: 0, kind: 'checkpoint' };

    op.push(recs([1, 2]));
    expect(op.writable).toBe(true); // 2 of 10 places taken
    chain.onBarrier(barrier, 0, { name: 'src', position: 2 });
    expect(snapshots).toEqual([]);
    expect(downstream.poll()).toBeUndefined();
    expect(op.writable).toBe(false); // input read now would overtake the barrier
    held.resolve(2, { id: 2 });
    await mailbox.run();
    expect(snapshots).toEqual([]); // one call is still in flight
    held.resolve(1, { id: 1 });
    await mailbox.run();
    expect(snapshots).toEqual([{ id: 7, recordsOut: 2 }]);
    expect(downstream.poll()).toEqual({ kind: 'barrier', barrier });
    expect(op.writable).toBe(true);
  });

  it('fails the job on a rejected call with onError fail, naming the step and the record', async () => {
    const held = new HeldCalls();
    const mailbox = new Mailbox();
    const ctx = testContext();
    const op = new AsyncMapOperator(
      'enrich',
      held.fn,
      { capacity: 4, timeoutMs: 60_000, onError: functionErrorPolicy('fail', ctx) },
      new CollectingOutput(),
      mailbox,
    );
    op.push(recs([1]));
    held.reject(1, new Error('service said 503'));
    const err: unknown = await mailbox.run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTributaryError(err) && err.code).toBe('TRIB_FUNCTION_FAILED');
    expect((err as Error).message).toMatch(/step "test".*\{"id":1\}.*service said 503/);
    expect((err as { record: unknown }).record).toEqual({ id: 1 });
  });

  it('skips a rejected call or one that throws at once with onError skip; the rest keep their order', async () => {
    const { held, out, mailbox, op, skipped } = setup({}, (fn) => (v) => {
      if ((v as { id: number }).id === 3) throw new Error('bad input');
      return fn(v);
    });
    op.push(recs([1, 2, 3, 4]));
    held.reject(2, new Error('503'));
    held.resolve(4, { id: 4 });
    held.resolve(1, { id: 1 });
    await mailbox.run();
    expect(out.records.map((e) => e.rec)).toEqual([{ id: 1 }, { id: 4 }]);
    expect(skipped.map((s) => [(s.err as Error).message, s.rec])).toEqual([
      ['503', { id: 2 }],
      ['bad input', { id: 3 }],
    ]);
  });

  it('fails a record whose call outlives the timeout, frees its place, ignores its late answer', async () => {
    const { held, out, mailbox, op, skipped } = setup({ capacity: 1, timeoutMs: 5 });
    op.push(recs([1, 2]));
    expect(held.open.size).toBe(1);
    await mailbox.run(); // the timer of call 1
    expect(skipped.map((s) => [isTributaryError(s.err) && s.err.code, s.rec])).toEqual([
      ['TRIB_FUNCTION_TIMEOUT', { id: 1 }],
    ]);
    expect(held.open.has(2)).toBe(true); // 1's place went to 2
    held.resolve(1, { id: 1, late: true });
    held.resolve(2, { id: 2 });
    await mailbox.run();
    expect(out.records.map((e) => e.rec)).toEqual([{ id: 2 }]);
    expect(op.calls).toBe(0);
  });

  it('sends its end only after every call is in, and is done then', async () => {
    const { held, out, mailbox, op } = setup();
    op.push(recs([1, 2]));
    op.end();
    expect([out.ended, op.done]).toEqual([false, false]);
    held.resolve(1, { id: 1 });
    await mailbox.run();
    expect([out.ended, op.done]).toEqual([false, false]);
    held.resolve(2, { id: 2 });
    await mailbox.run();
    expect([out.records.length, out.ended, op.done]).toEqual([2, true, true]);
  });

  it('drops the answers of a closed operator (the job ended) and is done', async () => {
    const { held, out, mailbox, op } = setup();
    op.push(recs([1]));
    op.close();
    held.resolve(1, { id: 1 });
    await mailbox.run();
    expect([out.records, op.done, op.calls]).toEqual([[], true, 0]);
  });
});
