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

  const bounded = (fetch: () => Promise<number[] | undefined>, discoveryMs = 30_000) => {
    const seen: string[] = [];
    const w = new TopicWatch({
      fetch,
      discoveryMs,
      onMissing: () => undefined,
      onPartitions: () => Promise.resolve(),
      onError: () => undefined,
      bounds: { unreachableMs: 6000, missingMs: 9000, warnEveryMs: 30_000 },
      onWarn: (t) => seen.push(`warn ${t.kind} ${t.forMs}`),
      onGiveUp: (t) => seen.push(`give up ${t.kind} ${t.forMs}${'error' in t ? ` ${(t.error as Error).message}` : ''}`),
    });
    return { w, seen };
  };

  it('refused checks: retried with backoff, warned at first and every third of the bound, given up at the bound', async () => {
    let n = 0;
    const { w, seen } = bounded(() => {
      n++;
      return Promise.reject(new Error('ECONNREFUSED'));
    });
    await w.begin([0]);
    await vi.advanceTimersByTimeAsync(30_000); // the first discovery check fails
    expect(seen).toEqual(['warn unreachable 0']);
    await vi.advanceTimersByTimeAsync(5999);
    expect(n).toBeGreaterThan(3); // 0.5, 1, 2, 4 s: not the 30 s discovery period
    expect(seen).toEqual(['warn unreachable 0', 'warn unreachable 2000', 'warn unreachable 4000']);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen.at(-1)).toBe('give up unreachable 6000 ECONNREFUSED');
    const checks = n;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(n).toBe(checks); // stopped for good
    await w.close();
  });

  it('a reported trouble that ends is recovered once; an unreported blip and a close are not', async () => {
    let fail = true;
    const recovered: string[] = [];
    const w = new TopicWatch({
      fetch: () => (fail ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve([0])),
      discoveryMs: 1000,
      onMissing: () => undefined,
      onPartitions: () => Promise.resolve(),
      onError: () => undefined,
      bounds: { unreachableMs: 60_000, missingMs: 60_000, warnEveryMs: 30_000 },
      onWarn: (t) => recovered.push(`warn ${t.kind}`),
      onRecovered: (kind) => recovered.push(`recovered ${kind}`),
    });
    await w.begin([0]);
    await vi.advanceTimersByTimeAsync(1000); // the check fails: warned
    fail = false;
    await vi.advanceTimersByTimeAsync(600); // the retry answers
    expect(recovered).toEqual(['warn unreachable', 'recovered unreachable']);
    await vi.advanceTimersByTimeAsync(5000); // answered checks: each one's trouble never reported
    expect(recovered).toEqual(['warn unreachable', 'recovered unreachable']);
    fail = true;
    await vi.advanceTimersByTimeAsync(1000);
    await w.close();
    expect(recovered).toEqual(['warn unreachable', 'recovered unreachable', 'warn unreachable']);
  });

  it('a check that never answers gives up at the bound too, and close() does not wait for it', async () => {
    const { w, seen } = bounded(() => new Promise(() => undefined));
    await w.begin([0]);
    await vi.advanceTimersByTimeAsync(36_000);
    expect(seen).toEqual([
      'warn unreachable 2000',
      'warn unreachable 4000',
      'give up unreachable 6000 no answer from the brokers for 6 s',
    ]);
    await w.close();
  });

  it('a missing topic gives up after missingMs; one that appears in time does not', async () => {
    const late = bounded(() => Promise.resolve(undefined));
    await late.w.begin(undefined);
    await vi.advanceTimersByTimeAsync(9000);
    expect(late.seen).toEqual(['warn missing 0', 'warn missing 3000', 'warn missing 6000', 'give up missing 9000']);
    let calls = 0;
    const inTime = bounded(() => Promise.resolve(++calls < 3 ? undefined : [0]));
    await inTime.w.begin(undefined);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(inTime.seen).toEqual(['warn missing 0', 'warn missing 3000']); // found at 3.5 s: no give-up
    await inTime.w.close();
  });
});
