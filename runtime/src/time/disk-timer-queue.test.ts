import { afterEach, describe, expect, it } from 'vitest';
import { DiskStore } from '../state/disk-store.ts';
import { KeyedStateBackend } from '../state/keyed-state.ts';
import { TEST_STATE_DIR } from '../testing/state-backends.ts';
import { extractKeyGroups, installKeyGroups } from '../state/key-group-handoff.ts';
import { timerKey, timerOfKey } from './disk-timer-queue.ts';
import { TimerService, type Timer } from './timer-service.ts';

const MAX_P = 16;
const stores: DiskStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close(true);
});

function service(
  disk: boolean,
  cache = 4,
  range = { start: 0, end: MAX_P - 1 },
): { timers: TimerService; backend: KeyedStateBackend } {
  const open = disk
    ? () => {
        const s = new DiskStore(TEST_STATE_DIR, cache);
        stores.push(s);
        return s;
      }
    : undefined;
  const backend = new KeyedStateBackend(MAX_P, range, open);
  return { timers: new TimerService().bind(backend, 'timers'), backend };
}

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Op = ['reg' | 'del', number, string, number, number] | ['adv', number];

/** Random registrations, deletions and advances. */
function script(seed: number, n: number): Op[] {
  const r = rng(seed);
  const ops: Op[] = [];
  let time = 0;
  for (let i = 0; i < n; i++) {
    const x = r();
    const t: [number, string, number, number] = [
      Math.floor(r() * MAX_P),
      `k${Math.floor(r() * 40)}`,
      Math.floor(r() * 3),
      Math.floor(r() * 200),
    ];
    if (x < 0.6) ops.push(['reg', ...t]);
    else if (x < 0.8) ops.push(['del', ...t]);
    else ops.push(['adv', (time += Math.floor(r() * 30))]);
  }
  ops.push(['adv', Infinity]);
  return ops;
}

/**
 * What a fired timer does, a function of the timer alone: register one beside itself (same
 * time: due in this advance, right after it), one due earlier in another key group, one later,
 * or delete a neighbour. Only namespaces below 3 react, and reactions register 3 and up: no cycles.
 */
function reaction(t: Timer): Op[] {
  if (typeof t.ns !== 'number' || t.ns >= 3) return [];
  const h = rng(t.kg * 7919 + t.ts * 31 + t.ns + t.key.length * 131 + Number(t.key.slice(1)));
  const x = h();
  const kg2 = Math.floor(h() * MAX_P);
  if (x < 0.25) return [['reg', t.kg, t.key, t.ns + 3, t.ts]];
  if (x < 0.45) return [['reg', kg2, `k${Math.floor(h() * 40)}`, 4, t.ts - 1]];
  if (x < 0.6) return [['reg', kg2, t.key, 5, t.ts + Math.floor(h() * 20)]];
  if (x < 0.8) return [['del', t.kg, `k${Math.floor(h() * 40)}`, Math.floor(h() * 3), t.ts + Math.floor(h() * 3)]];
  return [];
}

function run(disk: boolean, seed: number, n: number): string[] {
  const { timers, backend } = service(disk);
  const fired: string[] = [];
  const apply = (op: Op): void => {
    if (op[0] === 'reg') timers.register(op[1], op[2], op[3], op[4]);
    else if (op[0] === 'del') timers.delete(op[1], op[2], op[3], op[4]);
  };
  for (const op of script(seed, n)) {
    if (op[0] !== 'adv') apply(op);
    else
      timers.advance(op[1], (t: Timer) => {
        fired.push(`${t.kg}|${t.key}|${t.ns}|${t.ts}@${op[1]}`);
        for (const o of reaction(t)) apply(o);
      });
    backend.maintain();
  }
  fired.push(`left ${timers.size}`);
  return fired;
}

describe('disk timer queue', () => {
  it('round-trips index keys and orders them as the heap queue does', () => {
    const cases: [number, number, string, number | string][] = [
      [3, -5, 'b', 1],
      [3, 0, 'a', 2],
      [3, 0, 'a', 10],
      [3, 0, 'ab', 0],
      [3, 7.5, '', 'x'],
      [3, 1e15, 'z\u00e9', 'y'],
    ];
    const keys = cases.map(([kg, ts, key, ns]) => timerKey(kg, ts, key, ns));
    for (let i = 0; i < cases.length; i++) {
      const [kg, ts, key, ns] = cases[i] as [number, number, string, number | string];
      expect(timerOfKey(keys[i] as Buffer)).toEqual({ kg, ts, key, ns, deleted: false });
      if (i > 0) expect(Buffer.compare(keys[i - 1] as Buffer, keys[i] as Buffer)).toBe(-1);
    }
  });

  it('refuses a timer whose index key is over lmdb limit, naming the key', () => {
    expect(() => timerKey(0, 1, 'x'.repeat(2000), 0)).toThrow(/TRIB_STATE_KEY_TOO_LONG|limit/);
  });

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`fires exactly what the heap queue fires, in the same order (seed ${seed})`, () => {
      const heap = run(false, seed, 1500);
      expect(heap.length).toBeGreaterThan(100);
      expect(run(true, seed, 1500)).toEqual(heap);
    });
  }

  it('fires once a timer deleted and registered again while an earlier one of its batch fires', () => {
    for (const disk of [false, true]) {
      const { timers } = service(disk);
      for (const k of ['a', 'b', 'c']) timers.register(1, k, 0, 10);
      const fired: string[] = [];
      timers.advance(10, (t) => {
        fired.push(t.key);
        if (t.key === 'a') {
          timers.delete(1, 'c', 0, 10);
          timers.register(1, 'c', 0, 10);
        }
      });
      timers.advance(20, (t) => fired.push(`late ${t.key}`));
      expect(fired).toEqual(['a', 'b', 'c']);
      expect(timers.size).toBe(0);
    }
  });

  it('keeps its order across a restore and reports the next timestamp', () => {
    const a = service(true);
    for (let i = 0; i < 300; i++) a.timers.register(i % MAX_P, `k${i}`, 0, 1000 - i);
    a.timers.delete(299 % MAX_P, 'k299', 0, 701);
    const snap = a.backend.snapshot();
    const b = service(true);
    b.backend.restore([snap]);
    expect(b.timers.size).toBe(299);
    expect(b.timers.nextTimestamp()).toBe(702);
    const order: number[] = [];
    b.timers.advance(Infinity, (t) => order.push(t.ts));
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(order.length).toBe(299);
    expect(b.timers.size).toBe(0);
    expect(b.timers.nextTimestamp()).toBeUndefined();
  });

  it('moves timers with their key groups in a live hand-off, touching only those key groups', () => {
    const a = service(true, 4, { start: 0, end: 7 });
    const b = service(true, 4, { start: 8, end: MAX_P - 1 });
    for (let i = 0; i < 400; i++) (i % MAX_P < 8 ? a : b).timers.register(i % MAX_P, `k${i}`, i % 2, 500 + (i % 50));
    expect([a.timers.size, b.timers.size]).toEqual([200, 200]);
    installKeyGroups(b.backend, extractKeyGroups(a.backend, [2, 3, 5], 'test'), 'test');
    expect([a.timers.size, b.timers.size]).toEqual([125, 275]);
    const fired = (s: { timers: TimerService }): string[] => {
      const out: string[] = [];
      s.timers.advance(Infinity, (t) => out.push(`${t.kg}|${t.key}|${t.ns}|${t.ts}`));
      return out;
    };
    const fa = fired(a);
    const fb = fired(b);
    expect(fa.every((f) => ![2, 3, 5].includes(Number(f.split('|')[0])))).toBe(true);
    expect(fb.filter((f) => [2, 3, 5].includes(Number(f.split('|')[0])))).toHaveLength(75);
    expect(new Set([...fa, ...fb]).size).toBe(400);
    expect([a.timers.size, b.timers.size]).toEqual([0, 0]);
  });
});
