// rescale/event-time-refusal.ts: a job whose sources assign event time is refused a live rescale
// (a moved partition's watermark is not carried over yet), in one process as across processes.
import { describe, expect, it } from 'vitest';
import { LiveRescale } from '../exec/live-rescale.ts';
import type { LiveMigration } from '../exec/live-migration.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { eventTimeRefusal } from './event-time-refusal.ts';

describe('eventTimeRefusal', () => {
  it('names the first source that assigns event time; none without one', () => {
    expect(eventTimeRefusal([{ name: 'a' }, { name: 'b' }])).toBeUndefined();
    expect(
      eventTimeRefusal([
        { name: 'a' },
        { name: 'b', timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' } },
      ]),
    ).toMatch(/source "b" assigns event time: .* watermark/);
  });

  it('refuses the live rescale of a job in one process, nothing joined or drained', async () => {
    const moved: string[] = [];
    const live = new LiveRescale({
      maxParallelism: 8,
      unsupported: undefined,
      eventTime: eventTimeRefusal([
        { name: 'clicks', timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' } },
      ]),
      migration: { busy: false, settledAt: () => true } as unknown as LiveMigration,
      slots: () => [],
      notRunning: () => undefined,
      over: new Promise<void>(() => undefined),
      lastCompleted: () => undefined,
      triggerCheckpoint: () => Promise.reject(new Error('no checkpoint here')),
      join: async () => void moved.push('join'),
      drain: async () => void moved.push('drain'),
      setParallelism: () => void moved.push('parallelism'),
      fail: () => void moved.push('fail'),
      logger: silentLogger(),
    });
    await expect(live.run(3)).rejects.toMatchObject({
      code: 'TRIB_RESCALE_UNSUPPORTED',
      message: expect.stringMatching(/source "clicks" assigns event time/),
    });
    expect(moved).toEqual([]);
  });
});
