// The two halves of a Kafka partition moving between running source slots (partition-handover.ts)
// on real PartitionQueues and PartitionOffsets, fed as the consumer feeds them (takeInFetch): the
// old owner gives up exactly what it has not emitted — its queued records of the partition go, the
// other partitions' stay — and hands over the next offset to emit, not the fetch position; the new
// owner records the partition at that position before reading it, and reads on from it.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { takeInFetch } from './fetch-intake.ts';
import type { FetchedRecords } from './fetched-records.ts';
import { handOver, takeOver } from './partition-handover.ts';
import { PartitionOffsets } from './partition-offsets.ts';
import { PartitionQueues } from './partition-queues.ts';
import { checkWithinLog } from './start-positions.ts';
import { WatermarkPartitions } from './watermark-partitions.ts';
import type { SourceReaderContext } from '../api.ts';

/** A fetch of `offsets` (values are the offsets). */
function fetch(offsets: number[]): FetchedRecords {
  return {
    length: offsets.length,
    offset: (i) => BigInt(offsets[i] as number),
    key: () => null,
    value: (i) => Buffer.from(String(offsets[i])),
    headers: () => undefined,
  };
}

/** A slot's source state: queues and offsets, owning `parts` from offset 0. */
function slot(parts: number[]): { q: PartitionQueues; o: PartitionOffsets; emitted: string[]; poll(n: number): void } {
  const q = new PartitionQueues();
  const o = new PartitionOffsets(false);
  for (const p of parts) o.start(p, 0n, 100n);
  const emitted: string[] = [];
  return {
    q,
    o,
    emitted,
    poll: (n) =>
      void q.drain(n, (m) => {
        o.passed(m.partition, m.offset);
        emitted.push(`${m.partition}@${m.offset}`);
        return true;
      }),
  };
}

const quiet = pino({ level: 'silent' });
const take = (s: ReturnType<typeof slot>, p: number, offsets: number[]) =>
  takeInFetch(s.q, s.o, p, 100n, BigInt(offsets[offsets.length - 1] as number), fetch(offsets));

describe('a partition handed over between source slots', () => {
  it('the old owner drops what it fetched and did not emit, and hands over the next offset to emit', () => {
    const old = slot([0, 3]);
    take(old, 0, [0, 1, 2, 3, 4, 5, 6, 7]);
    take(old, 3, [0, 1, 2, 3]);
    old.poll(6); // 3 of each, in turn
    expect(old.o.accepted(0)).toBe(8n); // fetched up to 7
    expect(old.o.snapshot('t').offsets).toEqual({ '0': '3', '3': '3' });
    const next = handOver(old.q, old.o, [0], 'old', quiet).get(0) as bigint;
    expect(next).toBe(3n); // the snapshot's position, not the fetch position 8
    expect(old.q.queuedOf(0)).toBe(0);
    expect(old.q.queuedOf(3)).toBe(1); // another partition's records stay queued
    expect(old.o.owns(0)).toBe(false);
    expect(old.o.snapshot('t').offsets).toEqual({ '3': '3' }); // no later snapshot records it
    take(old, 0, [8, 9]); // its old consumer's last fetch, before it stopped: not taken in
    expect(old.q.queuedOf(0)).toBe(0);
    old.emitted.length = 0;
    old.poll(10);
    expect(old.emitted).toEqual(['3@3']); // nothing of 0 after the barrier

    const nu = slot([1]);
    takeOver(nu.o, new Map([[0, next]]), 'new', 'slot 0', quiet);
    expect(nu.o.snapshot('t').offsets).toEqual({ '0': '3', '1': '0' }); // recorded before it reads
    expect(nu.o.accepted(0)).toBe(3n); // its consumer is sought there
    take(nu, 0, [2, 3, 4]); // a fetch from before the seek's offset: below it dropped
    nu.poll(10);
    expect(nu.emitted).toEqual(['0@3', '0@4']);
    expect(nu.o.snapshot('t').offsets['0']).toBe('5');
  });

  it('refuses to hand over a partition not owned, or to take over one owned', () => {
    const s = slot([1]);
    expect(() => handOver(s.q, s.o, [0], 'slot 0', quiet)).toThrow(expect.objectContaining({ code: 'TRIB_INVARIANT' }));
    expect(() => takeOver(s.o, new Map([[1, 5n]]), 'slot 0', 'slot 1', quiet)).toThrow(
      expect.objectContaining({ code: 'TRIB_INVARIANT' }),
    );
  });

  it('drops only the handed-over partition’s queue, and frees its room for the others', () => {
    const q = new PartitionQueues();
    for (let o = 0; o < 3; o++)
      for (const p of [0, 1]) q.enqueue({ partition: p, offset: BigInt(o), key: null, value: null });
    expect(q.drop(0)).toBe(3);
    expect(q.drop(0)).toBe(0);
    const taken: string[] = [];
    expect(q.drain(10, (m) => (taken.push(`${m.partition}@${m.offset}`), true))).toBe(3);
    expect(taken).toEqual(['1@0', '1@1', '1@2']);
  });

  it('a handed-over position past the log end fails as a restored one does, naming where it came from', () => {
    const log = { low: 0n, high: 10n };
    expect(() => checkWithinLog('in', 't', 2, 10n, log, 'the position slot 1 handed over')).not.toThrow();
    expect(() => checkWithinLog('in', 't', 2, 11n, log, 'the position slot 1 handed over')).toThrow(
      expect.objectContaining({
        code: 'TRIB_SOURCE_POSITION_INVALID',
        message: expect.stringMatching(/before the position 11 it starts from \(the position slot 1 handed over\)/),
      }),
    );
  });

  it('the old owner’s watermark partition of it idles for good; taken back, it gets a new one', () => {
    const calls: string[] = [];
    let next = 0;
    const ctx = {
      addPartition: () => (calls.push(`add ${next}`), next++),
      idlePartition: (i: number) => calls.push(`idle ${i}`),
      finishPartition: (i: number) => calls.push(`finish ${i}`),
    } as unknown as SourceReaderContext;
    const wm = new WatermarkPartitions();
    wm.add([0, 3]);
    wm.declare(ctx, () => false, false);
    wm.remove(ctx, 0);
    expect(wm.index).toEqual(new Map([[3, 1]]));
    wm.add([0]);
    wm.declare(ctx, () => false, false);
    expect(calls).toEqual(['add 0', 'add 1', 'idle 0', 'add 2']);
  });
});
