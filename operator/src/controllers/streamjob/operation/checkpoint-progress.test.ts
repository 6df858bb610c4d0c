import { describe, expect, it } from 'vitest';
import type { StreamJobStatus } from '../../../api/v1alpha1/streamjob.ts';
import { failedWithoutCheckpoint, restartsWithoutCheckpoint } from './checkpoint-progress.ts';

const deployed = (startedAt: string): StreamJobStatus['deployed'] => ({
  id: 'abc-3',
  specHash: 'abc',
  parallelism: 2,
  startedAt,
});
const checkpoint = (completedAt: string): StreamJobStatus['lastCheckpoint'] => ({
  id: 7,
  completedAt,
  path: '/state/checkpoints/chk-7',
});

describe('checkpoint progress of a failed deployment', () => {
  it('counts a deployment whose newest checkpoint predates it (or that has none) as no progress', () => {
    expect(failedWithoutCheckpoint({ deployed: deployed('2026-01-01T10:00:00Z') })).toBe(true);
    expect(
      failedWithoutCheckpoint({
        deployed: deployed('2026-01-01T10:00:00Z'),
        lastCheckpoint: checkpoint('2026-01-01T09:59:59Z'),
      }),
    ).toBe(true);
    expect(
      failedWithoutCheckpoint({
        deployed: deployed('2026-01-01T10:00:00Z'),
        lastCheckpoint: checkpoint('2026-01-01T10:00:02Z'),
      }),
    ).toBe(false);
    expect(failedWithoutCheckpoint({})).toBe(false);
  });

  it('adds one per restart in a row without progress and starts over after a deployment that checkpointed', () => {
    expect(
      restartsWithoutCheckpoint({ deployed: deployed('2026-01-01T10:00:00Z'), restartsWithoutCheckpoint: 2 }),
    ).toBe(3);
    expect(
      restartsWithoutCheckpoint({
        deployed: deployed('2026-01-01T10:00:00Z'),
        lastCheckpoint: checkpoint('2026-01-01T10:00:01Z'),
        restartsWithoutCheckpoint: 5,
      }),
    ).toBe(0);
  });
});
