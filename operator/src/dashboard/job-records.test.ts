import { describe, expect, it } from 'vitest';
import type { StreamJob } from '../api/v1alpha1/streamjob.ts';
import { checkpointsOf, rescalesOf, summaryOf } from './job-records.ts';
import { withoutUserinfo } from './redact.ts';

const job = (status: StreamJob['status'], spec: Partial<StreamJob['spec']> = {}): StreamJob =>
  ({
    apiVersion: 'tributary.dev/v1alpha1',
    kind: 'StreamJob',
    metadata: { namespace: 'team a', name: 'clicks', uid: 'u1' },
    spec: { replicas: 3, upgradeMode: 'savepoint', ...spec },
    status,
  }) as StreamJob;

const now = Date.parse('2026-01-01T00:10:00Z');

describe('summaryOf', () => {
  it('takes phase, Ready, replicas, restarts, checkpoint age and recommendation from the object', () => {
    const s = summaryOf(
      job({
        phase: 'Running',
        restarts: 2,
        conditions: [
          { type: 'Progressing', status: 'False', reason: 'DeployCompleted', message: '', lastTransitionTime: '' },
          { type: 'Ready', status: 'True', reason: 'Running', message: '', lastTransitionTime: '' },
        ],
        lastCheckpoint: { id: 7, completedAt: '2026-01-01T00:09:30Z', path: '/state/checkpoints/chk-7' },
        autoscaler: { recommendedReplicas: 5 },
      }),
      now,
      { inputRate: 120.5, outputRate: 60, lag: 1000 },
    );
    expect(s).toEqual({
      namespace: 'team a',
      name: 'clicks',
      phase: 'Running',
      ready: { status: 'True', reason: 'Running' },
      replicas: 3,
      inputRate: 120.5,
      outputRate: 60,
      lag: 1000,
      lastCheckpointAgeSeconds: 30,
      restarts: 2,
      recommendedReplicas: 5,
      url: '/jobs/team%20a/clicks',
    });
  });

  it('leaves out what is not known: a new job has a phase, its replicas and no restarts', () => {
    expect(summaryOf(job(undefined), now)).toEqual({
      namespace: 'team a',
      name: 'clicks',
      phase: 'Pending',
      replicas: 3,
      restarts: 0,
      url: '/jobs/team%20a/clicks',
    });
  });
});

describe('checkpointsOf', () => {
  it('merges status and sampled checkpoints with savepoints, newest first, without credentials', () => {
    const rows = checkpointsOf(
      job({
        lastCheckpoint: { id: 9, completedAt: '2026-01-01T00:09:00Z', path: 's3://k:s@minio/b/chk-9' },
        savepoints: [
          {
            id: 'sp-4',
            path: 's3://AK:SK@minio/b/sp-4',
            reason: 'rescale',
            parallelism: 2,
            completedAt: '2026-01-01T00:05:00Z',
          },
        ],
      }),
      [
        {
          id: 9,
          kind: 'checkpoint',
          completedAt: '2026-01-01T00:09:00Z',
          path: 's3://minio/b/chk-9',
          durationMs: 40,
          bytes: 2048,
        },
        { id: 8, kind: 'checkpoint', completedAt: '2026-01-01T00:08:00Z', path: '/state/checkpoints/chk-8' },
      ],
    );
    expect(rows).toEqual([
      {
        id: 9,
        kind: 'checkpoint',
        completedAt: '2026-01-01T00:09:00Z',
        path: 's3://minio/b/chk-9',
        durationMs: 40,
        bytes: 2048,
      },
      { id: 8, kind: 'checkpoint', completedAt: '2026-01-01T00:08:00Z', path: '/state/checkpoints/chk-8' },
      { id: 4, kind: 'savepoint', completedAt: '2026-01-01T00:05:00Z', path: 's3://minio/b/sp-4' },
    ]);
  });
});

describe('rescalesOf', () => {
  it('lists status.rescales and older autoscaler rescales, newest first', () => {
    const r = rescalesOf(
      job({
        rescales: [
          {
            startedAt: '2026-01-01T00:05:00Z',
            from: 4,
            to: 6,
            cause: 'autoscaler',
            mode: 'savepoint',
            deployment: 'b-3',
            completedAt: '2026-01-01T00:05:20Z',
          },
          { startedAt: '2026-01-01T00:09:00Z', from: 6, to: 2, cause: 'user', mode: 'last-state', deployment: 'c-4' },
        ],
        autoscaler: {
          decisions: [
            { time: '2026-01-01T00:01:00Z', action: 'ScaleUp', from: 2, to: 4, reason: 'busy' },
            { time: '2026-01-01T00:03:00Z', action: 'Hold', from: 4, to: 6, reason: 'budget' },
            { time: '2026-01-01T00:05:00Z', action: 'ScaleUp', from: 4, to: 6, reason: 'busy' },
          ],
        },
      }),
    );
    expect(r).toEqual([
      { at: '2026-01-01T00:09:00Z', from: 6, to: 2, cause: 'user', mode: 'last-state' },
      {
        at: '2026-01-01T00:05:00Z',
        from: 4,
        to: 6,
        cause: 'autoscaler',
        mode: 'savepoint',
        completedAt: '2026-01-01T00:05:20Z',
      },
      { at: '2026-01-01T00:01:00Z', from: 2, to: 4, cause: 'autoscaler', mode: 'savepoint' },
    ]);
  });
});

describe('withoutUserinfo', () => {
  it('drops userinfo from every URI in a text and leaves the rest', () => {
    expect(withoutUserinfo('restore s3://AKIA:se/cr@t@minio:9000/b/sp-1 then http://u@h/p, /state/x')).toBe(
      'restore s3://minio:9000/b/sp-1 then http://h/p, /state/x',
    );
  });
});
