// Process-function state declared with a ttl (StateOptions): ValueState, ListState and MapState
// read as empty once expired, by the declared update type; the operator counts the expiries.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyedProcessFunction, ListState, MapState, RuntimeContext, StateOptions, ValueState } from '../api.ts';
import { isTributaryError } from '../errors.ts';
import type { Rec } from '../core/record.ts';
import { CollectingOutput, ManualClock, keyedBatch, testContext } from '../testing/harness.ts';
import type { StateStore } from '../state/disk-store.ts';
import { TEST_BACKENDS, trackStores } from '../testing/state-backends.ts';
import { functionErrorPolicy } from './function-lookup.ts';
import { KeyedProcessOperator } from './keyed-process-operator.ts';

/** The store the running case's operators open (set per backend in beforeEach); undefined: the heap. */
let openStore: (() => StateStore) | undefined;

const FILLER = ['f0', 'f1', 'f2', 'f3', 'f4'];

interface Seen {
  value: number | undefined;
  list: number[];
  map: [string, number][];
}

/** Per record {k, read?}: reports what the key's states hold, then (unless read) writes to each. */
function recorder(o: StateOptions | undefined) {
  return {
    open(ctx: RuntimeContext) {
      this.v = ctx.getState<number>('v', o);
      this.l = ctx.getListState<number>('l', o);
      this.m = ctx.getMapState<string, number>('m', o);
    },
    processElement(e: { k: string; read?: boolean }, _ctx: unknown, out: { collect(s: Seen): void }) {
      const v = this.v as ValueState<number>;
      const l = this.l as ListState<number>;
      const m = this.m as MapState<string, number>;
      out.collect({ value: v.value(), list: l.get(), map: m.entries() });
      if (e.read === true) return;
      v.update((v.value() ?? 0) + 1);
      l.add(l.get().length);
      m.put(`x${m.entries().length}`, 1);
    },
  } as KeyedProcessFunction<string, { k: string; read?: boolean }, Seen> & {
    v?: ValueState<number>;
    l?: ListState<number>;
    m?: MapState<string, number>;
  };
}

function operator(o: StateOptions | undefined) {
  const clock = new ManualClock(0);
  const ctx = testContext({ clock, stateStore: openStore });
  const out = new CollectingOutput();
  const op = new KeyedProcessOperator('p', recorder(o), ctx, functionErrorPolicy('fail', ctx), out);
  const push = (k: string, read = false): Seen => {
    // Other keys (written at every push, so they never expire) in a batch before, so the disk
    // store's cache (4 entries) evicts the key's entries at the safe point.
    op.push(keyedBatch(FILLER.map((f): [Rec, number, unknown[]] => [{ k: f }, 1, [f]])));
    op.keyedBackend.maintain();
    op.push(keyedBatch([[{ k, read }, 1, [k]]]));
    op.keyedBackend.maintain(); // the slot's safe point after a batch
    return out.take().at(-1) as unknown as Seen;
  };
  return { clock, ctx, op, push };
}

const EMPTY: Seen = { value: undefined, list: [], map: [] };

describe.each(TEST_BACKENDS)('process-function state with a ttl ($name)', (tb) => {
  const stores = trackStores(tb);
  beforeEach(() => {
    openStore = stores.open;
  });
  afterEach(() => stores.closeAll());
  it('OnCreateAndWrite (default): empty once a write is ttl old, whatever was read since', () => {
    const { clock, ctx, push } = operator({ ttl: 100 });
    expect(push('a')).toEqual(EMPTY);
    clock.advanceTo(99);
    expect(push('a', true)).toEqual({ value: 1, list: [0], map: [['x0', 1]] });
    clock.advanceTo(100);
    expect(push('a')).toEqual(EMPTY);
    expect(ctx.expired).toBe(3);
  });

  it('OnReadAndWrite: reads keep the state alive', () => {
    const { clock, push } = operator({ ttl: 100, update: 'OnReadAndWrite' });
    push('a');
    for (let t = 90; t <= 900; t += 90) {
      clock.advanceTo(t);
      expect(push('a', true).value).toBe(1);
    }
    clock.advanceTo(900 + 100);
    expect(push('a', true)).toEqual(EMPTY);
  });

  it('appends and puts in place are writes', () => {
    const { clock, push } = operator({ ttl: 100 });
    push('a');
    clock.advanceTo(60);
    push('a');
    clock.advanceTo(159);
    expect(push('a', true)).toEqual({
      value: 2,
      list: [0, 1],
      map: [
        ['x0', 1],
        ['x1', 1],
      ],
    });
  });

  it('keeps state forever without options', () => {
    const { clock, push } = operator(undefined);
    push('a');
    clock.advanceTo(10 ** 9);
    expect(push('a', true).value).toBe(1);
  });

  it('refuses a bad ttl and a state declared again with other options', () => {
    const bad = (o: StateOptions) => () => operator(o);
    for (const o of [{ ttl: 0 }, { ttl: 1.5 }, { ttl: 10, update: 'OnRead' as 'OnReadAndWrite' }])
      expect(bad(o)).toThrow(/state "value:v" has options/);
    const twice: KeyedProcessFunction<string, unknown, unknown> = {
      open(ctx) {
        ctx.getState('v');
        ctx.getState('v', { ttl: 5 });
      },
      processElement() {},
    };
    const ctx = testContext({ stateStore: openStore });
    try {
      new KeyedProcessOperator('p', twice, ctx, functionErrorPolicy('fail', ctx), new CollectingOutput());
      expect.unreachable();
    } catch (e) {
      expect(isTributaryError(e) && e.code).toBe('TRIB_FUNCTION_FAILED');
      expect((e as Error).message).toMatch(/declared twice with different options/);
    }
  });
});
