import { describe, expect, it } from 'vitest';
import { collected, watch } from './testing/reachability.ts';
import { Fifo } from './fifo.ts';

describe('Fifo', () => {
  it('keeps order and size across drains and compactions', () => {
    const q = new Fifo<number>();
    expect(q.shift()).toBeUndefined();
    let next = 0;
    let expected = 0;
    // Never drained in the middle: the head passes 1024 with elements still queued.
    for (let round = 0; round < 5000; round++) {
      q.push(next++);
      q.push(next++);
      expect(q.shift()).toBe(expected++);
      expect(q.size).toBe(next - expected);
    }
    while (q.size > 0) expect(q.shift()).toBe(expected++);
    expect(expected).toBe(next);
    expect(q.shift()).toBeUndefined();
    q.push(7);
    expect(q.size).toBe(1);
    expect(q.shift()).toBe(7);
  });

  it('lets go of what was taken while other elements stay queued', async () => {
    const q = new Fifo<object>();
    // Filled and taken in functions of their own: an async test's frame may keep its last
    // temporaries alive across the await.
    const refs = ((): WeakRef<object>[] => {
      const taken = [{ a: 1 }, { a: 2 }, { a: 3 }];
      for (const t of taken) q.push(t);
      q.push({ still: 'queued' });
      return watch(taken);
    })();
    (() => {
      for (let i = 0; i < 3; i++) q.shift();
    })();
    expect(q.size).toBe(1);
    expect(await collected(refs)).toBe(3);
  });
});
