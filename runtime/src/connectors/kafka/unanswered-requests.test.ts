import kafkajs from 'kafkajs';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DependencyOutage } from '../../core/outage.ts';
import { namingBounds } from './client.ts';
import { UnansweredRequests, describeWaitBound, waitBoundMs } from './unanswered-requests.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('UnansweredRequests (the Kafka sink while its brokers do not answer)', () => {
  beforeEach(() => void vi.useFakeTimers({ now: T0 }));
  afterEach(() => void vi.useRealTimers());

  function watcher(requestTimeoutMs: number, retries: number) {
    const reports: (DependencyOutage | undefined)[] = [];
    const lines: { level: number; msg: string; at: number }[] = [];
    const logger = pino(
      { level: 'info' },
      {
        write: (l: string) => {
          const j = JSON.parse(l) as { level: number; msg: string };
          lines.push({ level: j.level, msg: j.msg, at: Date.now() - T0 });
        },
      },
    );
    const w = new UnansweredRequests({
      sink: 'out',
      brokers: '127.0.0.1:9092',
      bounds: { requestTimeoutMs, retries },
      logger,
      report: (o) => reports.push(o),
    });
    return { w, reports, lines, warnings: () => lines.filter((l) => l.level === 40) };
  }

  /** A request the test answers (or fails) when it chooses. */
  function request<T = void>() {
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const p = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
    return { p, resolve, reject };
  }

  it('says nothing while a send is answered within half its requestTimeout (a slow broker is no outage)', async () => {
    const { w, reports, lines } = watcher(2_000, 1);
    const r = request();
    const tracked = w.track(r.p, 'sending 5 records to topic t');
    await vi.advanceTimersByTimeAsync(900);
    r.resolve();
    await tracked;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(reports).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('warns and reports once a send waited half its requestTimeout, then at most every bound/3, and clears when a send is answered', async () => {
    const { w, reports, lines, warnings } = watcher(2_000, 1);
    const r = request();
    const tracked = w.track(r.p, 'sending 5 records to topic t');
    await vi.advanceTimersByTimeAsync(500);
    expect(reports).toEqual([]);
    await vi.advanceTimersByTimeAsync(500); // 1 s: half the request timeout
    expect(reports).toEqual([
      {
        dependency: 'kafka',
        component: 'sink "out"',
        target: 'brokers 127.0.0.1:9092',
        since: new Date(T0).toISOString(),
        error: 'no answer from the brokers for half the requestTimeout 2s (sending 5 records to topic t)',
        bound: 'fails after requestTimeout 2s × (retries 1 + 1) plus backoff',
      },
    ]);
    expect(warnings().map((l) => [l.at, l.msg])).toEqual([
      [
        1_000,
        'kafka sink "out": brokers 127.0.0.1:9092 have not answered for 1 s (sending 5 records to topic t); ' +
          'still waiting, fails after requestTimeout 2s × (retries 1 + 1) plus backoff',
      ],
    ]);
    // A second send behind the first does not move `since` or report again.
    const r2 = request();
    const tracked2 = w.track(r2.p, 'sending 1 records to topic t');
    await vi.advanceTimersByTimeAsync(3_000); // 4 s; bound 2 × 2 s + 0.36 s backoff: warnings every 1.45 s
    expect(reports).toHaveLength(1);
    expect(warnings().map((l) => l.at)).toEqual([1_000, 2_500, 4_000]);
    r.resolve();
    await tracked;
    expect(reports).toHaveLength(2);
    expect(reports[1]).toBeUndefined();
    expect(lines.at(-1)).toMatchObject({
      level: 30,
      msg: 'kafka sink "out": brokers 127.0.0.1:9092 answer again after 4 s',
    });
    // The send still pending counts from the answer: answered too before it times out, nothing more is said.
    await vi.advanceTimersByTimeAsync(900);
    r2.resolve();
    await tracked2;
    expect(reports).toHaveLength(2);
    expect(warnings()).toHaveLength(3);
  });

  it('a commit (one EndTxn, no retries) names its own bound; a failed request clears nothing (the job fails)', async () => {
    const { w, reports, warnings } = watcher(3_000, 2);
    const r = request();
    const tracked = w.track(r.p, 'committing transaction p-0-0 of checkpoint 7', 'once');
    await vi.advanceTimersByTimeAsync(1_500); // warned before it fails at its one request timeout
    expect(reports[0]).toMatchObject({
      error: 'no answer from the brokers for half the requestTimeout 3s (committing transaction p-0-0 of checkpoint 7)',
      bound: 'fails after requestTimeout 3s',
    });
    expect(warnings()[0]?.msg).toContain(
      '(committing transaction p-0-0 of checkpoint 7); still waiting, fails after requestTimeout 3s',
    );
    r.reject(new Error('timed out'));
    await expect(tracked).rejects.toThrow('timed out');
    expect(reports).toHaveLength(1);
  });

  it('with the default bounds: the first warning after 15 s, then every 30 s, not one per check', async () => {
    const { w, warnings } = watcher(30_000, 5);
    void w.track(request().p, 'sending 1 records to topic t');
    await vi.advanceTimersByTimeAsync(100_000);
    expect(warnings().map((l) => l.at)).toEqual([15_000, 45_000, 75_000]);
    w.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(warnings()).toHaveLength(3);
  });

  it('bounds as kafkajs applies them, and the error naming brokers and options', () => {
    const b = { requestTimeoutMs: 30_000, retries: 5 };
    expect(describeWaitBound(b, 'retried')).toBe('fails after requestTimeout 30s × (retries 5 + 1) plus backoff');
    expect(waitBoundMs(b, 'retried')).toBe(180_000 + 300 * 31 * 1.2);
    expect(waitBoundMs(b, 'once')).toBe(30_000);
    const timeout = Object.assign(new kafkajs.KafkaJSError('Request Produce(key: 0, version: 7) timed out'), {
      name: 'KafkaJSRequestTimeoutError',
    });
    expect((namingBounds(timeout, b, ['a:9092', 'b:9092']) as Error).message).toBe(
      'Request Produce(key: 0, version: 7) timed out (brokers a:9092,b:9092 did not answer; requestTimeout 30s, retries 5)',
    );
    // A commit's coordinator lookup that no broker answered: kafkajs drops the timeout it met.
    const NotFound = kafkajs.KafkaJSGroupCoordinatorNotFound as unknown as new (message: string) => Error;
    const noCoordinator = new NotFound('Failed to find group coordinator');
    expect((namingBounds(noCoordinator, b, 'a:9092') as Error).message).toBe(
      'Failed to find group coordinator (brokers a:9092 did not answer; requestTimeout 30s, retries 5)',
    );
    const refused = new kafkajs.KafkaJSConnectionError('Connection error: connect ECONNREFUSED a:9092');
    expect(namingBounds(refused, b, 'a:9092')).toBe(refused);
  });
});
