// The per-job series the chart's alerts and dashboards read (charts/tributary/rules, dashboards):
// Ready with its reason, restarts counted from status.restartTimes, the health check's
// CheckpointProgress and its restarts; all removed with the job.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { streamJobMetrics } from './metrics.ts';

const job = (ready: 'True' | 'False', reason: string, restartTimes?: string[]): StreamJob =>
  ({
    apiVersion: 'tributary.dev/v1alpha1',
    kind: 'StreamJob',
    metadata: { namespace: 'ns', name: 'j' },
    spec: {},
    status: {
      phase: ready === 'True' ? 'Running' : 'Restarting',
      conditions: [{ type: 'Ready', status: ready, reason, message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      ...(restartTimes ? { restartTimes } : {}),
    },
  }) as unknown as StreamJob;

/** `job` with a CheckpointProgress condition of `progress` (none: the health check is off). */
const withProgress = (j: StreamJob, progress: 'True' | 'False' | undefined): StreamJob => {
  const conditions = [...(j.status?.conditions ?? [])];
  if (progress)
    conditions.push({
      type: 'CheckpointProgress',
      status: progress,
      reason: progress === 'True' ? 'CheckpointsCompleting' : 'CheckpointsStalled',
      message: '',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
  return { ...j, status: { ...j.status, conditions } } as StreamJob;
};

const series = async (r: Registry, name: string) =>
  ((await r.getSingleMetric(name)?.get())?.values ?? []).map((v) => ({ labels: v.labels, value: v.value }));

describe('StreamJob per-job metrics', () => {
  it('Ready is one series per job, its reason the current one', async () => {
    const r = new Registry();
    const m = streamJobMetrics(r);
    m.observeJob(job('True', 'Running'));
    m.observeJob(job('False', 'SlotsNotRunning'));
    expect(await series(r, 'tributary_operator_streamjob_ready')).toEqual([
      { labels: { namespace: 'ns', name: 'j', reason: 'SlotsNotRunning' }, value: 0 },
    ]);
    m.observeJob(job('True', 'Running'));
    expect(await series(r, 'tributary_operator_streamjob_ready')).toEqual([
      { labels: { namespace: 'ns', name: 'j', reason: 'Running' }, value: 1 },
    ]);
  });

  it('counts each restart once, from 0 at first sight, across a cleared count', async () => {
    const r = new Registry();
    const m = streamJobMetrics(r);
    const restarts = async () => (await series(r, 'tributary_operator_streamjob_job_restarts_total'))[0]?.value;
    // Restarts before the operator first saw the job were counted by the one before it.
    m.observeJob(job('True', 'Running', ['2026-01-01T00:00:00Z']));
    expect(await restarts()).toBe(0);
    m.observeJob(job('False', 'SlotsNotRunning', ['2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z']));
    m.observeJob(job('False', 'SlotsNotRunning', ['2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z']));
    expect(await restarts()).toBe(1);
    // restartPolicy.window dropped the oldest as two more came: the count stays, the times move.
    m.observeJob(
      job('False', 'SlotsNotRunning', ['2026-01-01T00:01:00Z', '2026-01-01T00:02:00Z', '2026-01-01T00:03:00Z']),
    );
    expect(await restarts()).toBe(3);
    // A new deployment clears status.restarts and the times; the next restart still counts.
    m.observeJob(job('True', 'Running'));
    m.observeJob(job('False', 'SlotsNotRunning', ['2026-01-01T00:09:00Z']));
    expect(await restarts()).toBe(4);
  });

  it('CheckpointProgress is 1 while True, 0 while False, and no series while the check is off', async () => {
    const r = new Registry();
    const m = streamJobMetrics(r);
    const progress = () => series(r, 'tributary_operator_streamjob_checkpoint_progress');
    m.observeJob(job('True', 'Running'));
    expect(await progress()).toEqual([]);
    m.observeJob(withProgress(job('True', 'Running'), 'True'));
    expect(await progress()).toEqual([{ labels: { namespace: 'ns', name: 'j' }, value: 1 }]);
    // Ready stays True: the pods run what the spec asks while checkpoints stall.
    m.observeJob(withProgress(job('True', 'Running'), 'False'));
    expect(await progress()).toEqual([{ labels: { namespace: 'ns', name: 'j' }, value: 0 }]);
    // spec.health removed: the condition goes, and so does the series (not a stale 0).
    m.observeJob(job('True', 'Running'));
    expect(await progress()).toEqual([]);
  });

  it("the health check's restarts start from 0 at first sight, counted as they are recorded", async () => {
    const r = new Registry();
    const m = streamJobMetrics(r);
    const restarts = () => series(r, 'tributary_operator_streamjob_unhealthy_restarts_total');
    m.observeJob(job('True', 'Running'));
    expect(await restarts()).toEqual([{ labels: { namespace: 'ns', name: 'j' }, value: 0 }]);
    m.unhealthyRestarts.inc({ namespace: 'ns', name: 'j' });
    m.observeJob(job('False', 'Restart', ['2026-01-01T00:00:00Z']));
    expect(await restarts()).toEqual([{ labels: { namespace: 'ns', name: 'j' }, value: 1 }]);
  });

  it('forget removes the job from the phase counts and its series', async () => {
    const r = new Registry();
    const m = streamJobMetrics(r);
    m.observeJob(withProgress(job('True', 'Running', ['2026-01-01T00:00:00Z']), 'False'));
    m.unhealthyRestarts.inc({ namespace: 'ns', name: 'j' });
    expect((await series(r, 'tributary_operator_streamjobs')).find((s) => s.labels.phase === 'Running')?.value).toBe(1);
    m.forget('ns/j');
    expect(await series(r, 'tributary_operator_streamjob_ready')).toEqual([]);
    expect(await series(r, 'tributary_operator_streamjob_job_restarts_total')).toEqual([]);
    expect(await series(r, 'tributary_operator_streamjob_checkpoint_progress')).toEqual([]);
    expect(await series(r, 'tributary_operator_streamjob_unhealthy_restarts_total')).toEqual([]);
    expect((await series(r, 'tributary_operator_streamjobs')).find((s) => s.labels.phase === 'Running')?.value).toBe(0);
  });
});
