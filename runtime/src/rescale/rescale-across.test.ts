// rescale-across.ts: the partitions and owners a plan across processes starts from (a checkpoint's
// positions: slot 0 cannot ask the other slots' readers), and the refusals before anything changes.
import { describe, expect, it } from 'vitest';
import type { SourceSpec } from '../graph/spec.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { partitionsOf } from '../checkpoint/recorded-partitions.ts';
import { rescaleAcross, type RescaleAcrossContext } from './rescale-across.ts';

const kafka = (name: string, topic: string, bounded = false): SourceSpec =>
  ({ name, kafka: { brokers: ['b:9092'], topic, ...(bounded ? { bounded: 'latest' } : {}) } }) as SourceSpec;

describe('rescaleAcross', () => {
  it('partitionsOf: every partition a checkpoint lists, owned by the slot listing it', () => {
    const m = {
      sources: {
        events: [
          { slot: 0, position: { offsets: { '0': '10', '3': '4' } } },
          { slot: 1, position: { offsets: { '1': '7' } } },
          { slot: 2, position: { offsets: {} } },
        ],
      },
    };
    expect(partitionsOf(m, [kafka('events', 'in')])).toEqual([
      { source: 'events', topic: 'in', partition: 0, owner: 0 },
      { source: 'events', topic: 'in', partition: 3, owner: 0 },
      { source: 'events', topic: 'in', partition: 1, owner: 1 },
    ]);
  });

  it('refuses, joining nothing, what it cannot carry out', async () => {
    const joined: number[] = [];
    const c = (o: Partial<RescaleAcrossContext> = {}): RescaleAcrossContext => ({
      join: { join: async (s) => void joined.push(s) },
      migration: { run: async () => undefined, busy: false, settledAt: () => true },
      maxParallelism: 4,
      sources: [kafka('events', 'in')],
      parallelism: () => 2,
      notRunning: () => undefined,
      triggerCheckpoint: () => Promise.reject(new Error('not here')),
      setParallelism: () => undefined,
      fail: () => undefined,
      logger: silentLogger(),
      ...o,
    });
    const refused = (ctx: RescaleAcrossContext, to: number) => expect(rescaleAcross(ctx, to)).rejects;
    await refused(c(), 4).toMatchObject({ code: 'TRIB_RESCALE_UNSUPPORTED', message: /one at a time/ });
    await refused(c(), 1).toMatchObject({ code: 'TRIB_RESCALE_UNSUPPORTED' });
    await refused(c({ parallelism: () => 4 }), 5).toMatchObject({ code: 'TRIB_RESCALE_PLAN_INVALID' });
    await refused(c({ notRunning: () => 'CREATED' }), 3).toMatchObject({ code: 'TRIB_RESCALE_UNSUPPORTED' });
    const settled = { run: async () => undefined, busy: false, settledAt: () => false };
    await refused(c({ migration: settled }), 3).toMatchObject({ code: 'TRIB_RESCALE_PLAN_INVALID' });
    await refused(c({ sources: [kafka('events', 'in', true)] }), 3).toMatchObject({
      code: 'TRIB_RESCALE_UNSUPPORTED',
      message: /source "events" cannot move its input/,
    });
    expect(joined).toEqual([]);
  });

  it('once joined, a failure (here: the plan checkpoint) fails the job with TRIB_RESCALE_STEP_FAILED', async () => {
    const failed: unknown[] = [];
    const ctx: RescaleAcrossContext = {
      join: { join: async () => undefined },
      migration: { run: async () => undefined, busy: false, settledAt: () => true },
      maxParallelism: 4,
      sources: [kafka('events', 'in')],
      parallelism: () => 2,
      notRunning: () => undefined,
      triggerCheckpoint: () => Promise.reject(new Error('storage down')),
      setParallelism: () => undefined,
      fail: (e) => failed.push(e),
      logger: silentLogger(),
    };
    await expect(rescaleAcross(ctx, 3)).rejects.toMatchObject({ code: 'TRIB_RESCALE_STEP_FAILED' });
    expect(failed).toHaveLength(1);
  });
});
