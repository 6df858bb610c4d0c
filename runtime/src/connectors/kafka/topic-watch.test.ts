import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { missingTopicBackoffMs, TopicWatch } from './topic-watch.ts';

describe('missingTopicBackoffMs', () => {
  it('doubles from 500 ms up to 5 s', () => {
    expect([1, 2, 3, 4, 5, 6, 20].map((a) => missingTopicBackoffMs(a))).toEqual([
      500, 1000, 2000, 4000, 5000, 5000, 5000,
    ]);
  });
});

describe('TopicWatch', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const watch = (answers: (number[] | undefined | Error)[], discoveryMs: number) => {
    const seen: string[] = [];
    let i = 0;
    const w = new TopicWatch({
      fetch: () => {
        const a = answers[Math.min(i++, answers.length - 1)];
        return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
      },
      discoveryMs,
      onMissing: (n) => seen.push(`missing ${n}`),
      onPartitions: (p) => {
        seen.push(`partitions ${p.join(',')}`);
        return Promise.resolve();
      },
      onError: (e) => seen.push(`error ${(e as Error).message}`),
    });
    return { w, seen, fetches: () => i };
  };

  it('a missing topic is checked again with backoff until it exists, then every discovery period', async () => {
    const { w, seen, fetches } = watch([undefined, new Error('broker down'), [0, 1], [0, 1, 2]], 30_000);
    await w.begin(undefined);
    expect(seen).toEqual(['missing 1']);
    await vi.advanceTimersByTimeAsync(499);
    expect(fetches()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen).toEqual(['missing 1', 'missing 2']);
    await vi.advanceTimersByTimeAsync(1000); // the 2nd backoff
    expect(seen.at(-1)).toBe('error broker down');
    await vi.advanceTimersByTimeAsync(1000); // an error while missing keeps the backoff
    expect(seen.at(-1)).toBe('partitions 0,1');
    await vi.advanceTimersByTimeAsync(29_999);
    expect(fetches()).toBe(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen.at(-1)).toBe('partitions 0,1,2');
    await w.close();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(fetches()).toBe(4);
  });

  it('with discovery off, nothing is checked once the topic exists', async () => {
    const { w, seen, fetches } = watch([[0]], 0);
    await w.begin([0]);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(seen).toEqual(['partitions 0']);
    expect(fetches()).toBe(0);
    await w.close();
  });

  it('close() does not wait for a check in flight, and nothing runs after it', async () => {
    let release!: (p: number[]) => void;
    const calls: string[] = [];
    const w = new TopicWatch({
      fetch: () => new Promise((r) => (release = r)),
      discoveryMs: 1000,
      onMissing: () => calls.push('missing'),
      onPartitions: () => {
        calls.push('partitions');
        return Promise.resolve();
      },
      onError: () => calls.push('error'),
    });
    await w.begin([0]);
    await vi.advanceTimersByTimeAsync(1000);
    const closing = w.close();
    release([0, 1]);
    await closing;
    expect(calls).toEqual(['partitions']);
  });
});
