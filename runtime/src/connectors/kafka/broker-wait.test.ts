import kafkajs from 'kafkajs';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DependencyOutage } from '../../core/outage.ts';
import { untilBrokersAnswer, type BrokerWait } from './broker-wait.ts';

const { KafkaJSConnectionError, KafkaJSProtocolError } = kafkajs;
const refused = () => new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092');

describe('untilBrokersAnswer', () => {
  beforeEach(() => void vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') }));
  afterEach(() => void vi.useRealTimers());

  const wait = (reports: (DependencyOutage | undefined)[], warnings: string[]): BrokerWait => {
    const logger = pino({ level: 'info' }, { write: (l: string) => void warnings.push(JSON.parse(l).msg as string) });
    return {
      component: 'sink "out"',
      brokers: '127.0.0.1:9092',
      what: 'recovering its Kafka transactions',
      boundMs: 6_000,
      boundName: 'brokerUnreachableTimeout',
      logger,
      report: (o) => reports.push(o),
    };
  };

  it('retries refused brokers with backoff, reports the outage from its start, clears it when the step succeeds', async () => {
    const reports: (DependencyOutage | undefined)[] = [];
    const warnings: string[] = [];
    let calls = 0;
    const done = untilBrokersAnswer(
      async () => {
        calls++;
        if (calls < 5) throw refused(); // at 0, 0.5, 1.5 and 3.5 s
        return 'recovered';
      },
      wait(reports, warnings),
    );
    await vi.advanceTimersByTimeAsync(6_000); // the last wait is cut to the bound: 6 s
    await expect(done).resolves.toBe('recovered');
    expect(calls).toBe(5);
    expect(reports.at(0)).toEqual({
      dependency: 'kafka',
      component: 'sink "out"',
      target: 'brokers 127.0.0.1:9092',
      since: '2026-01-01T00:00:00.000Z',
      error: 'Connection error: connect ECONNREFUSED 127.0.0.1:9092',
      bound: 'fails after brokerUnreachableTimeout 6s',
    });
    expect(new Set(reports.slice(0, 4).map((r) => r?.since)).size).toBe(1); // since does not move
    expect(reports.at(-1)).toBeUndefined();
    // Warned at the start and then at most every third of the bound (2 s): at 0 and 3.5 s, not per retry.
    expect(warnings.filter((w) => w.includes('unreachable'))).toHaveLength(2);
    expect(warnings.at(-1)).toContain('answer again');
  });

  it('throws the step error once the bound passed, and at once for an error that is not a connection one', async () => {
    const always = untilBrokersAnswer(() => Promise.reject(refused()), wait([], []));
    const caught = always.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(7_000);
    expect(await caught).toBeInstanceOf(KafkaJSConnectionError);
    expect(Date.now() - Date.parse('2026-01-01T00:00:00Z')).toBeLessThanOrEqual(7_000);

    let calls = 0;
    const other = untilBrokersAnswer(
      () => {
        calls++;
        return Promise.reject(new KafkaJSProtocolError('INVALID_PRODUCER_EPOCH'));
      },
      wait([], []),
    );
    await expect(other).rejects.toBeInstanceOf(KafkaJSProtocolError);
    expect(calls).toBe(1);
  });
});
