import { describe, expect, it } from 'vitest';
import type { DeployedInfo, StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import { LINEAGE_MAX, lineageOf, lineageSince } from './restore-point.ts';

const job = (deployed?: DeployedInfo): StreamJob =>
  ({
    metadata: { name: 'j', namespace: 'ns', uid: 'u1' },
    spec: {},
    status: deployed ? { deployed } : {},
  }) as StreamJob;
const dep = (o: Partial<DeployedInfo> = {}): DeployedInfo => ({
  id: 'abc-3',
  specHash: 'h',
  parallelism: 2,
  startedAt: '2026-01-01T00:00:00Z',
  ...o,
});

describe('the lineage a new deployment restores from', () => {
  it('is the deployed deployment, named as its checkpoints name it (<job uid>/<deployment id>)', () => {
    expect(lineageOf(job(dep()))).toEqual(['u1/abc-3']);
    expect(lineageSince(job(dep()))).toBe('2026-01-01T00:00:00Z');
    expect(lineageOf(job())).toBeUndefined();
  });

  it('continues the lineage a deployment that resolved the newest state chose from, newest first, bounded', () => {
    const resolved = dep({
      restoreLatestSince: '2025-12-31T00:00:00Z',
      restoreLatestLineage: ['u1/abc-2', 'u1/abc-1'],
    });
    expect(lineageOf(job(resolved))).toEqual(['u1/abc-3', 'u1/abc-2', 'u1/abc-1']);
    expect(lineageSince(job(resolved))).toBe('2025-12-31T00:00:00Z');
    // A deployment that restored a fixed path (a savepoint) starts a lineage of its own.
    expect(lineageOf(job(dep({ restoreLatestLineage: ['u1/abc-2'] })))).toEqual(['u1/abc-3']);
    const long = dep({
      restoreLatestSince: '2025-12-31T00:00:00Z',
      restoreLatestLineage: Array.from({ length: 40 }, (_, i) => `u1/old-${i}`),
    });
    expect(lineageOf(job(long))).toHaveLength(LINEAGE_MAX);
  });
});
