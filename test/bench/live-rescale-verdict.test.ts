// The pod bench's verdicts on a rescale it asked for (bench/live-rescale-verdict.ts): a live
// rescale that the operator carried out by savepoint, one that failed and restarted, or a
// savepoint rescale that kept its deployment must not pass as what was asked.
import { describe, expect, it } from 'vitest';
import type { MigrationRecord, StreamJobStatus } from '../../operator/src/api/v1alpha1/streamjob.ts';
import { notAsRequested, notSteady, requestedMigration, type Requested } from '../../bench/live-rescale-verdict.ts';

const T0 = Date.parse('2026-11-28T09:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const live: Requested = { mode: 'live', from: 2, to: 3, deployment: 'd1' };
const savepoint: Requested = { mode: 'savepoint', from: 2, to: 3, deployment: 'd1' };

function migration(o: Partial<MigrationRecord> = {}): MigrationRecord {
  return {
    id: 'mig-2',
    from: 2,
    to: 3,
    state: 'COMPLETED',
    phase: 'done',
    stepsDone: 1,
    steps: 1,
    keyGroupsMoved: 43,
    bytesMoved: 1000,
    startedAt: at(50),
    finishedAt: at(2000),
    ...o,
  };
}

/** A job Running at 3 after a rescale 2→3 of `mode` that started `deployment`. */
function done(mode: 'live' | 'savepoint', deployment: string, o: Partial<StreamJobStatus> = {}): StreamJobStatus {
  return {
    phase: 'Running',
    deployed: { id: deployment, parallelism: 3 } as StreamJobStatus['deployed'],
    rescales: [
      {
        startedAt: at(-60_000),
        from: 3,
        to: 2,
        cause: 'user',
        mode: 'savepoint',
        deployment: 'd0',
        completedAt: at(-55_000),
      },
      { startedAt: at(50), from: 2, to: 3, cause: 'user', mode, deployment, completedAt: at(2100) },
    ],
    ...(mode === 'live' ? { migration: migration() } : {}),
    ...o,
  };
}

describe('the pod bench: did the rescale run as asked', () => {
  it('passes a live rescale that kept its deployment and completed its migration', () => {
    expect(notAsRequested(done('live', 'd1'), live, T0)).toBeUndefined();
  });

  it('fails a live rescale the operator carried out by savepoint (LiveRescaleNotPossible, Aborted)', () => {
    expect(notAsRequested(done('savepoint', 'd2'), live, T0)).toMatch(/ran by savepoint/);
    // An aborted migration is kept in status.migration next to the savepoint rescale that followed.
    const aborted = done('savepoint', 'd2', { migration: migration({ state: 'ABORTED' }) });
    expect(notAsRequested(aborted, live, T0)).toMatch(/ran by savepoint/);
  });

  it('fails a live rescale whose deployment changed or whose migration is not this one, or did not complete', () => {
    expect(notAsRequested(done('live', 'd2'), live, T0)).toMatch(/moved from deployment d1 to d2/);
    const old = done('live', 'd1', { migration: migration({ startedAt: at(-60_000) }) });
    expect(notAsRequested(old, live, T0)).toMatch(/not in status/);
    const failed = done('live', 'd1', { migration: migration({ state: 'FAILED' }) });
    expect(notAsRequested(failed, live, T0)).toMatch(/migration is FAILED/);
  });

  it('fails a rescale missing from status.rescales, not completed, or of other slots', () => {
    const none = done('live', 'd1', { rescales: [] });
    expect(notAsRequested(none, live, T0)).toMatch(/does not end with/);
    const open = done('live', 'd1');
    delete open.rescales![1]!.completedAt;
    expect(notAsRequested(open, live, T0)).toMatch(/does not end with/);
    expect(notAsRequested(done('live', 'd1'), { ...live, from: 3, to: 2 }, T0)).toMatch(/does not end with/);
  });

  it('passes a savepoint rescale on a new deployment, fails one that kept it', () => {
    expect(notAsRequested(done('savepoint', 'd2'), savepoint, T0)).toBeUndefined();
    expect(notAsRequested(done('savepoint', 'd1'), savepoint, T0)).toMatch(/kept deployment d1/);
    expect(notAsRequested(done('live', 'd1'), savepoint, T0)).toMatch(/ran by live/);
  });

  it('takes the migration as this request only once the operator recorded it', () => {
    const before = done('live', 'd1', { migration: migration({ from: 3, to: 2, startedAt: at(-30_000) }) });
    expect(requestedMigration(before, live, T0)).toBeUndefined();
    expect(requestedMigration(done('live', 'd1'), live, T0)?.id).toBe('mig-2');
  });

  it('a job is steady only on its deployment, not failed, not restarted', () => {
    const s = done('live', 'd1', { restarts: 1 });
    expect(notSteady(s, 'd1', 1)).toBeUndefined();
    expect(notSteady(s, 'd1', 0)).toMatch(/restarted/);
    expect(notSteady(s, 'd0', 1)).toMatch(/deployment d1 runs, not d0/);
    expect(notSteady({ ...s, phase: 'Failed' }, 'd1', 1)).toMatch(/failed/);
  });
});
