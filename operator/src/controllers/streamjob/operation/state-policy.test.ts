import { describe, expect, it } from 'vitest';
import type { PendingOperation, StreamJobSpec, StreamJobStatus } from '../../../api/v1alpha1/streamjob.ts';
import { sampleJob, sampleSpec } from '../testing/sample-job.ts';
import { unobserved } from '../observer.ts';
import { checkpointFallback, emptyStartRefusal } from './state-policy.ts';

const now = new Date('2026-01-01T00:10:00Z');
const spec = (extra: Partial<StreamJobSpec> = {}): StreamJobSpec => ({ ...sampleSpec, ...extra });
const op = (kind: PendingOperation['kind']): PendingOperation => ({
  kind,
  targetSpecHash: 'h',
  mode: 'restore',
  startedAt: now.toISOString(),
  step: 'recorded',
});

describe('checkpointFallback', () => {
  const withCheckpoint = (completedAt: string, maxCheckpointAge: string) =>
    sampleJob(spec({ savepoints: { ...sampleSpec.savepoints, maxCheckpointAge } }), {
      lastCheckpoint: { id: 4, completedAt, path: '/state/checkpoints/chk-4' },
    });

  it('uses a checkpoint that completed within maxCheckpointAge', () => {
    expect(checkpointFallback(withCheckpoint('2026-01-01T00:09:30Z', '1m'), unobserved(), now)).toEqual({
      use: { id: 4, completedAt: '2026-01-01T00:09:30Z', path: '/state/checkpoints/chk-4' },
    });
  });

  it('refuses an older one, naming it, its age and the limit', () => {
    const r = checkpointFallback(withCheckpoint('2026-01-01T00:08:00Z', '1m'), unobserved(), now);
    expect(r).toEqual({
      refuse:
        'the latest checkpoint /state/checkpoints/chk-4 completed 120s ago (2026-01-01T00:08:00Z), older than savepoints.maxCheckpointAge 1m (60s)',
    });
  });

  it('refuses when there is no checkpoint at all', () => {
    expect(checkpointFallback(sampleJob(spec()), unobserved(), now)).toEqual({
      refuse: 'no completed checkpoint to fall back to (savepoints.maxCheckpointAge 10m)',
    });
  });
});

describe('emptyStartRefusal', () => {
  const ran: StreamJobStatus = { deploymentCounter: 3 };
  it('refuses a stateful redeploy with nothing to restore, saying what to set', () => {
    for (const kind of ['upgrade', 'rescale', 'deploy'] as const) {
      const why = emptyStartRefusal(sampleJob(spec(), ran), op(kind), undefined);
      expect(why).toContain(`upgradeMode savepoint: no savepoint or checkpoint to restore for this ${kind}`);
      expect(why).toContain('spec.initialState: empty');
      expect(why).toContain('spec.restore.savepointPath');
    }
    expect(emptyStartRefusal(sampleJob(spec({ upgradeMode: 'last-state' }), ran), op('upgrade'), undefined)).toContain(
      'upgradeMode last-state',
    );
  });

  it('allows it with state, with initialState empty, stateless, a first deploy, a restart or a suspend', () => {
    expect(emptyStartRefusal(sampleJob(spec(), ran), op('upgrade'), '/state/savepoints/sp-1')).toBeUndefined();
    expect(
      emptyStartRefusal(sampleJob(spec({ initialState: 'empty' }), ran), op('upgrade'), undefined),
    ).toBeUndefined();
    expect(
      emptyStartRefusal(sampleJob(spec({ upgradeMode: 'stateless' }), ran), op('upgrade'), undefined),
    ).toBeUndefined();
    expect(emptyStartRefusal(sampleJob(spec(), { deploymentCounter: 1 }), op('deploy'), undefined)).toBeUndefined();
    expect(emptyStartRefusal(sampleJob(spec(), ran), op('restart'), undefined)).toBeUndefined();
    expect(emptyStartRefusal(sampleJob(spec(), ran), op('suspend'), undefined)).toBeUndefined();
  });
});
