import { describe, expect, it } from 'vitest';
import type { DependencyOutage } from '../../core/outage.ts';
import { consumerOutages, troubleOutage, type Waiter } from './source-bounds.ts';

const w: Waiter = { source: 'in', slot: 1, topic: 't', brokers: '127.0.0.1:9092' };
const b = { unreachableMs: 30_000, missingMs: 300_000, warnEveryMs: 30_000 };

describe('a Kafka source reports brokers that do not answer as an outage', () => {
  it('from its topic checks: no growing duration in the error, so status is not rewritten while it lasts', () => {
    const at = (forMs: number) =>
      troubleOutage(
        w,
        {
          kind: 'unreachable',
          forMs,
          error: new Error(`no answer from the brokers for ${forMs / 1000} s`),
          unanswered: true,
        },
        b,
      );
    expect(at(4000).error).toBe(at(8000).error);
    expect(at(4000)).toMatchObject({
      dependency: 'kafka',
      component: 'source "in"',
      target: 'brokers 127.0.0.1:9092',
      error: 'no answer from the brokers (looking up topic t)',
      bound: 'fails after brokerUnreachableTimeout 30s',
    });
    const refused = troubleOutage(w, { kind: 'unreachable', forMs: 0, error: new Error('connect ECONNREFUSED') }, b);
    expect(refused.error).toBe('connect ECONNREFUSED (looking up topic t)');
  });

  it('from its consumer: since the first crash, cleared by a fetch, ignored once the consumer was replaced', () => {
    const reports: (DependencyOutage | undefined)[] = [];
    let current = true;
    const h = consumerOutages(
      (o) => reports.push(o),
      w,
      b,
      () => current,
    );
    h.unreachable?.(Date.parse('2026-01-01T00:00:00Z'), new Error('Connection error: connect ECONNREFUSED'));
    h.reachable?.();
    current = false;
    h.unreachable?.(0, new Error('late'));
    expect(reports).toEqual([
      {
        dependency: 'kafka',
        component: 'source "in"',
        target: 'brokers 127.0.0.1:9092',
        since: '2026-01-01T00:00:00.000Z',
        error: 'Connection error: connect ECONNREFUSED (consumer of topic t)',
        bound: 'fails after brokerUnreachableTimeout 30s',
      },
      undefined,
    ]);
    expect(consumerOutages(undefined, w, b, () => true)).toEqual({});
  });
});
