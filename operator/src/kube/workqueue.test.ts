import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRegistry, kubeMetrics } from '../telemetry/metrics.ts';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
} from './rate-limiter.ts';
import { WorkQueue } from './workqueue.ts';

describe('WorkQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stores a key added many times once', async () => {
    const q = new WorkQueue<string>({ name: 't' });
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.len()).toBe(0);
  });

  it('never hands out a key while it is being processed, and hands it out again after done', async () => {
    const q = new WorkQueue<string>({ name: 't' });
    q.add('a');
    const first = await q.get();
    expect(first).toBe('a');
    q.add('a');
    q.add('a');
    // A second worker waiting for a key must not receive 'a' while the first still holds it.
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    expect(q.len()).toBe(0);
    q.done('a');
    await Promise.resolve();
    expect(second).toBe('a');
    q.done('a');
    expect(q.len()).toBe(0);
  });

  it('wakes a waiting get() when a key is added', async () => {
    const q = new WorkQueue<string>({ name: 't' });
    const p = q.get();
    q.add('x');
    expect(await p).toBe('x');
  });

  it('adds a key after its delay, keeping the earliest of several deadlines', async () => {
    const q = new WorkQueue<string>({ name: 't' });
    q.addAfter('a', 1000);
    q.addAfter('a', 5000);
    q.addAfter('a', 300);
    vi.advanceTimersByTime(299);
    expect(q.len()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    vi.advanceTimersByTime(10_000);
    expect(q.len()).toBe(0);
  });

  it('backs off per key exponentially on addRateLimited and resets on forget', async () => {
    const q = new WorkQueue<string>({ name: 't', rateLimiter: new ItemExponentialFailureRateLimiter(5, 1_000_000) });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const t0 = Date.now();
      q.addRateLimited('a');
      while (q.len() === 0) vi.advanceTimersByTime(1);
      delays.push(Date.now() - t0);
      await q.get();
      q.done('a');
    }
    expect(delays).toEqual([5, 10, 20, 40]);
    expect(q.numRequeues('a')).toBe(4);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
  });

  it('shutDown releases waiting workers and refuses new keys', async () => {
    const q = new WorkQueue<string>({ name: 't' });
    const p = q.get();
    q.shutDown();
    expect(await p).toBeUndefined();
    q.add('a');
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  it('shutDownWithDrain waits for keys being processed to be done', async () => {
    const q = new WorkQueue<string>({ name: 't' });
    q.add('a');
    q.add('b');
    await q.get();
    let drained = false;
    const d = q.shutDownWithDrain().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    // 'b' was queued but never handed out: it is dropped, not processed.
    expect(await q.get()).toBeUndefined();
    q.done('a');
    await d;
    expect(drained).toBe(true);
  });

  it('drops pending delayed keys on shutdown', () => {
    const q = new WorkQueue<string>({ name: 't' });
    q.addAfter('a', 100);
    q.shutDown();
    vi.advanceTimersByTime(1000);
    expect(q.len()).toBe(0);
  });

  it('reports depth, adds and retries', async () => {
    const m = kubeMetrics(createRegistry());
    const q = new WorkQueue<string>({
      name: 'm',
      metrics: m,
      rateLimiter: new ItemExponentialFailureRateLimiter(1, 10),
    });
    q.add('a');
    q.add('b');
    q.add('a');
    expect((await m.workqueueDepth.get()).values[0]?.value).toBe(2);
    expect((await m.workqueueAdds.get()).values[0]?.value).toBe(3);
    await q.get();
    expect((await m.workqueueDepth.get()).values[0]?.value).toBe(1);
    q.addRateLimited('c');
    expect((await m.workqueueRetries.get()).values[0]?.value).toBe(1);
  });
});

describe('rate limiters', () => {
  it('caps per-key exponential backoff at its maximum', () => {
    const r = new ItemExponentialFailureRateLimiter<string>(5, 1_000_000);
    const seq = Array.from({ length: 25 }, () => r.when('k'));
    expect(seq.slice(0, 3)).toEqual([5, 10, 20]);
    expect(seq.at(-1)).toBe(1_000_000);
    expect(Math.max(...seq)).toBe(1_000_000);
    expect(r.when('other')).toBe(5);
  });

  it('lets a burst through then spaces requests at the bucket rate', () => {
    let now = 0;
    const r = new BucketRateLimiter<string>(10, 100, () => now);
    for (let i = 0; i < 100; i++) expect(r.when(`k${i}`)).toBe(0);
    expect(r.when('x')).toBe(100);
    expect(r.when('y')).toBe(200);
    now += 1000;
    // 10 tokens refilled, 2 already owed: 8 go through at once.
    for (let i = 0; i < 8; i++) expect(r.when(`z${i}`)).toBe(0);
    expect(r.when('late')).toBe(100);
  });

  it('takes the longest wait of its limiters', () => {
    const now = 0;
    const r = new MaxOfRateLimiter<string>(
      new ItemExponentialFailureRateLimiter(5, 1000),
      new BucketRateLimiter(1, 1, () => now),
    );
    expect(r.when('a')).toBe(5);
    expect(r.when('a')).toBe(1000);
    expect(r.numRequeues('a')).toBe(2);
    r.forget('a');
    expect(r.numRequeues('a')).toBe(0);
  });

  it('the default limiter starts at 5ms per key', () => {
    const r = defaultControllerRateLimiter<string>();
    expect(r.when('a')).toBe(5);
    expect(r.when('a')).toBe(10);
  });
});
