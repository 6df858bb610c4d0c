// A last-state suspend keeps its lineage, and the resume hands it to the new pods (restoreLatest),
// instead of pinning the resume to the checkpoint slot 0 reported when the suspend recorded its
// state. The operation steps run with an in-memory status writer; the real thing: suspend-resume-e2e.int.test.ts.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { PendingOperation, StreamJobStatus } from '../../../api/v1alpha1/streamjob.ts';
import type { JobCtx, ReconcilerInternals } from '../job-context.ts';
import { jobConfig } from '../objects/job-config.ts';
import { unobserved, type Observation } from '../observer.ts';
import { effectiveStateStorage } from '../state-storage.ts';
import { sampleJob, sampleSpec } from '../testing/sample-job.ts';
import { finishSuspend } from './finish-suspend.ts';
import { prepareState } from './prepare-state.ts';

const internals = () =>
  ({
    deps: {
      defaults: { image: 'img' },
      events: { warning: () => Promise.resolve(), normal: () => Promise.resolve() },
      metrics: { operations: { inc: () => undefined } },
    },
    record: (c: JobCtx, _write: string, mutate: (st: StreamJobStatus) => StreamJobStatus) => {
      c.job = { ...c.job, status: mutate(structuredClone(c.job.status ?? {})) };
      return Promise.resolve(c.job);
    },
    advance: () => Promise.resolve(undefined),
  }) as unknown as ReconcilerInternals;

const ctx = (state: 'running' | 'suspended', status: StreamJobStatus, obs: Observation = unobserved()): JobCtx => ({
  job: sampleJob({ ...sampleSpec, upgradeMode: 'last-state', state }, status),
  log: pino({ level: 'silent' }),
  obs,
  now: new Date('2026-01-01T00:10:00Z'),
});

const deployed = { id: 'h1-1', specHash: 'h1', parallelism: 2, startedAt: '2026-01-01T00:00:00Z' };

describe('suspend in last-state mode, then resume', () => {
  it('records the lineage at suspend and restores its newest state at resume, chk-7 only as the fallback', async () => {
    const r = internals();
    // The suspend records state while the pods run: slot 0 reports chk-7.
    const running = ctx('suspended', { phase: 'Running', deployed, deploymentCounter: 1 }, {
      ...unobserved(),
      current: new Map([[0, {}]]),
      runtime: {
        lastCheckpoint: { id: 7, completedAt: '2026-01-01T00:09:59Z', path: 's3://b/n/j/checkpoints/chk-7' },
      },
    } as unknown as Observation);
    const suspend: PendingOperation = {
      kind: 'suspend',
      targetSpecHash: 'h1',
      mode: 'last-state',
      step: 'recorded',
      startedAt: '2026-01-01T00:10:00Z',
    };
    running.job.status!.pendingOperation = suspend;
    await prepareState(r, running, suspend);
    const ready = running.job.status!.pendingOperation!;
    expect(ready).toMatchObject({
      step: 'state-ready',
      restoreFrom: 's3://b/n/j/checkpoints/chk-7',
      restoreLatestSince: '2026-01-01T00:00:00Z',
      restoreLatestLineage: ['u1/h1-1'],
    });
    // … the old pods go on completing checkpoints until they are gone; then the suspend ends.
    await finishSuspend(r, running, ready);
    expect(running.job.status).toMatchObject({
      phase: 'Suspended',
      resumeFrom: 's3://b/n/j/checkpoints/chk-7',
      resumeLatest: { since: '2026-01-01T00:00:00Z', lineage: ['u1/h1-1'] },
    });

    // Resume (decide-operation.ts hands status.resumeLatest to the deploy): the new pods resolve it.
    const st = running.job.status!;
    const resume: PendingOperation = {
      kind: 'deploy',
      targetSpecHash: 'h1',
      targetDeploymentId: 'h1-2',
      mode: 'restore',
      restoreFrom: st.resumeFrom!,
      restoreLatestSince: st.resumeLatest!.since,
      restoreLatestLineage: st.resumeLatest!.lineage!,
      step: 'recorded',
      startedAt: '2026-01-01T01:00:00Z',
    };
    const resuming = ctx('running', { ...st, deploymentCounter: 2, pendingOperation: resume });
    await prepareState(r, resuming, resume);
    const op = resuming.job.status!.pendingOperation!;
    expect(op).toMatchObject({ restoreLatestSince: '2026-01-01T00:00:00Z', restoreLatestLineage: ['u1/h1-1'] });
    const cfg = jobConfig(
      resuming.job,
      resuming.job.spec,
      effectiveStateStorage(resuming.job.spec, {}),
      2,
      op.restoreFrom,
      resuming.job.spec.graph,
      op.restoreLatestSince,
      { deployment: 'u1/h1-2', restoreLatest: op.restoreLatestLineage! },
    );
    expect(cfg).toMatchObject({
      restoreFrom: 's3://b/n/j/checkpoints/chk-7',
      restoreLatest: { since: '2026-01-01T00:00:00Z', lineage: ['u1/h1-1'] },
      deployment: 'u1/h1-2',
    });
  });
});
