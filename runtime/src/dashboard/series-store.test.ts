import { describe, expect, it } from 'vitest';
import type { StatusResponse } from '../control/contract.ts';
import { SeriesStore, slotSampleFromStatus, type SlotSample } from './series-store.ts';

const node = (name: string, recordsIn: number, recordsOut: number, extra: object = {}) => ({
  node: name,
  recordsIn,
  recordsOut,
  ...extra,
});

describe('SeriesStore', () => {
  it('turns cumulative counters of several slots into summed rates per second', () => {
    const store = new SeriesStore({ intervalSeconds: 5 });
    const slot = (s: number, k: number): SlotSample => ({
      slot: s,
      uptimeMs: k * 5000,
      recordsIn: k * 100 * (s + 1),
      recordsOut: k * 50,
      nodes: [node('src', k * 100 * (s + 1), k * 100 * (s + 1)), node('sink', k * 50, k * 50)],
    });
    store.record({ at: 1_000, slots: [slot(0, 1), slot(1, 1)] });
    expect(store.latest()).toEqual({});
    expect(store.nodeRates().get('src')?.inRate).toBeUndefined();
    store.record({ at: 6_000, slots: [slot(0, 2), slot(1, 2)] });
    // slot 0: 100 records / 5 s = 20/s, slot 1: 200 / 5 s = 40/s
    expect(store.latest()).toEqual({ inputRate: 60, outputRate: 20 });
    expect(store.nodeRates().get('src')).toMatchObject({ inRate: 60, outRate: 60 });
    expect(store.nodeRates().get('sink')).toMatchObject({ inRate: 20, outRate: 20 });
    const series = store.series();
    expect(series.t).toEqual([1_000, 6_000]);
    expect(series.inputRate).toEqual([null, 60]);
    expect(series.outputRate).toEqual([null, 20]);
  });

  it('takes a counter that went down as a restarted slot: no rate from it, never a negative one', () => {
    const store = new SeriesStore({ intervalSeconds: 1 });
    const s = (uptimeMs: number, n: number): SlotSample => ({
      slot: 0,
      uptimeMs,
      recordsIn: n,
      nodes: [node('map', n, n)],
    });
    store.record({ at: 0, slots: [s(10_000, 1_000)] });
    store.record({ at: 1_000, slots: [s(500, 10)] });
    expect(store.latest().inputRate).toBeUndefined();
    expect(store.nodeRates().get('map')?.inRate).toBeUndefined();
    store.record({ at: 2_000, slots: [s(1_500, 30)] });
    expect(store.latest().inputRate).toBe(20);
    // without a clock of its own, the counters alone tell the restart
    const bare = new SeriesStore({ intervalSeconds: 1 });
    bare.record({ at: 0, slots: [{ slot: 0, recordsIn: 500, nodes: [node('map', 500, 500)] }] });
    bare.record({ at: 1_000, slots: [{ slot: 0, recordsIn: 3, nodes: [node('map', 3, 3)] }] });
    expect(bare.series().inputRate).toEqual([null, null]);
    expect(bare.nodeRates().get('map')?.inRate).toBeUndefined();
  });

  it('never differentiates across incarnations and forgets a slot missing for staleAfter samples', () => {
    const store = new SeriesStore({ intervalSeconds: 1, staleAfter: 2 });
    store.record({ at: 0, slots: [{ slot: 0, incarnation: 'a', recordsIn: 0 }] });
    store.record({ at: 1_000, slots: [{ slot: 0, incarnation: 'b', recordsIn: 900 }] });
    expect(store.latest().inputRate).toBeUndefined();
    store.record({ at: 2_000, slots: [] });
    store.record({ at: 3_000, slots: [] });
    store.record({ at: 4_000, slots: [{ slot: 0, incarnation: 'b', recordsIn: 1_000 }] });
    expect(store.latest().inputRate).toBeUndefined();
    // one missed sample is bridged: the rate spans both intervals
    store.record({ at: 5_000, slots: [] });
    store.record({ at: 6_000, slots: [{ slot: 0, incarnation: 'b', recordsIn: 1_200 }] });
    expect(store.latest().inputRate).toBe(100);
  });

  it('gives busy and backpressured shares per node, or the slot-wide share labelled as such', () => {
    const store = new SeriesStore({ intervalSeconds: 1 });
    const s = (k: number): SlotSample => ({
      slot: 0,
      uptimeMs: k * 1000,
      busyMs: { eventLoop: k * 300, lookup: k * 900 },
      backpressuredMs: k * 100,
      nodes: [node('a', k, k, { busyMs: k * 250, backpressuredMs: k * 50 }), node('b', k, k)],
    });
    store.record({ at: 0, slots: [s(1)] });
    store.record({ at: 1000, slots: [s(2)] });
    expect(store.nodeRates().get('a')).toMatchObject({ busy: 0.25, backpressured: 0.05 });
    expect(store.nodeRates().get('a')?.busyScope).toBeUndefined();
    // the slot's bottleneck resource (lookup, 90%) stands for a node without its own timing
    expect(store.nodeRates().get('b')).toMatchObject({ busy: 0.9, backpressured: 0.1, busyScope: 'slot' });
  });

  it('reports watermark lag against the sample time, the largest over slots', () => {
    const store = new SeriesStore({ intervalSeconds: 1 });
    store.record({
      at: 10_000,
      slots: [
        { slot: 0, nodes: [node('w', 0, 0, { watermarkMs: 9_000 })] },
        { slot: 1, nodes: [node('w', 0, 0, { watermarkMs: 7_500 })] },
      ],
    });
    expect(store.nodeRates().get('w')?.watermarkLagMs).toBe(2_500);
  });

  it('carries a stateful step’s keyed state of the newest sample, summed over slots and per slot', () => {
    const store = new SeriesStore({ intervalSeconds: 1 });
    const disk = (keys: number, full: number | undefined, local: number, cached: number) => ({
      keyedState: {
        backend: 'disk',
        keys,
        ...(full === undefined ? {} : { fullSnapshotBytes: full }),
        deltaBytes: 10,
        localBytes: local,
        cachedEntries: cached,
      },
    });
    // a gauge needs no previous sample: the first one shows it
    store.record({
      at: 1_000,
      slots: [
        { slot: 1, nodes: [node('agg', 0, 0, disk(30, 2_000, 8_192, 7)), node('src', 5, 5)] },
        { slot: 0, nodes: [node('agg', 0, 0, disk(12, undefined, 4_096, 3))] },
      ],
    });
    expect(store.nodeRates().get('agg')?.keyedState).toEqual({
      backend: 'disk',
      keys: 42,
      fullSnapshotBytes: 2_000,
      deltaBytes: 20,
      localBytes: 12_288,
      cachedEntries: 10,
      slots: [
        { slot: 0, backend: 'disk', keys: 12, deltaBytes: 10, localBytes: 4_096, cachedEntries: 3 },
        {
          slot: 1,
          backend: 'disk',
          keys: 30,
          fullSnapshotBytes: 2_000,
          deltaBytes: 10,
          localBytes: 8_192,
          cachedEntries: 7,
        },
      ],
    });
    expect(store.nodeRates().get('src')?.keyedState).toBeUndefined();
    // the newest sample only: a slot that did not answer is not in it
    store.record({
      at: 2_000,
      slots: [{ slot: 0, nodes: [node('agg', 0, 0, { keyedState: { backend: 'heap', keys: 5, extra: 1 } })] }],
    });
    expect(store.nodeRates().get('agg')?.keyedState).toEqual({
      backend: 'heap',
      keys: 5,
      slots: [{ slot: 0, backend: 'heap', keys: 5 }],
    });
  });

  it('keeps at most capacity points, oldest dropped first, and lag per source summed over slots', () => {
    const store = new SeriesStore({ intervalSeconds: 1, capacity: 3 });
    for (let k = 0; k < 5; k++)
      store.record({
        at: k * 1000,
        slots: [
          { slot: 0, lag: { orders: k } },
          { slot: 1, lag: { orders: 10 * k } },
        ],
      });
    const series = store.series();
    expect(series.capacity).toBe(3);
    expect(series.t).toEqual([2000, 3000, 4000]);
    expect(series.lag).toEqual({ orders: [22, 33, 44] });
    expect(store.latest().lag).toBe(44);
    expect(store.ringBytes()).toBe(6 * 8 * 3);
  });

  it('adds a checkpoint to the interval it completed in, not the baseline one', () => {
    const store = new SeriesStore({ intervalSeconds: 1 });
    store.record({ at: 0, slots: [], checkpoint: { id: 4, durationMs: 10, bytes: 100 } });
    store.record({ at: 1000, slots: [], checkpoint: { id: 4, durationMs: 10, bytes: 100 } });
    store.record({ at: 2000, slots: [], checkpoint: { id: 5, durationMs: 30, bytes: 300 } });
    const series = store.series();
    expect(series.checkpointDurationMs).toEqual([null, null, 30]);
    expect(series.checkpointBytes).toEqual([null, null, 300]);
  });

  it('refuses a capacity outside its bound with a stable code', () => {
    expect(() => new SeriesStore({ intervalSeconds: 1, capacity: 1 })).toThrow(
      expect.objectContaining({ code: 'TRIB_DASHBOARD_CONFIG' }),
    );
  });

  it('reads a slot status answer', () => {
    const status: StatusResponse = {
      contractVersion: 1,
      jobName: 'j',
      deploymentId: 'd1',
      slot: 2,
      parallelism: 3,
      state: 'RUNNING',
      recordsIn: 7,
      recordsOut: 5,
      load: {
        uptimeMs: 100,
        busyMs: { eventLoop: 40 },
        backpressuredMs: 3,
        recordsIn: 7,
        sources: [{ source: 'in', partitions: 4, assigned: 2, lag: 11, recordsIn: 7 }],
      },
      nodes: [node('in', 7, 7), node('agg', 7, 3, { keyedState: { backend: 'heap', keys: 3, fullSnapshotBytes: 90 } })],
    };
    expect(slotSampleFromStatus(status)).toEqual({
      slot: 2,
      incarnation: 'd1',
      uptimeMs: 100,
      backpressuredMs: 3,
      busyMs: { eventLoop: 40 },
      recordsIn: 7,
      recordsOut: 5,
      nodes: [node('in', 7, 7), node('agg', 7, 3, { keyedState: { backend: 'heap', keys: 3, fullSnapshotBytes: 90 } })],
      lag: { in: 11 },
    });
  });
});
