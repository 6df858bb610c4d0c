// spec.autoscaler → policy: every absent field takes the documented default, durations become ms, and what the
// CRD schema cannot check is reported against its field path.
import { describe, expect, it } from 'vitest';
import type { AutoscalerSpec } from '../../../api/v1alpha1/autoscaler.ts';
import { resolvePolicy, validateAutoscaler } from './policy.ts';

describe('resolvePolicy', () => {
  it('gives the documented defaults for an empty spec', () => {
    expect(resolvePolicy({}, 12)).toEqual({
      enabled: false,
      mode: 'Recommend',
      minReplicas: 1,
      maxReplicas: 12,
      targetUtilization: 0.7,
      utilizationBoundary: 0.2,
      metricsWindowMs: 60_000,
      stabilizationMs: 60_000,
      scaleUpGracePeriodMs: 0,
      scaleDownDelayMs: 300_000,
      catchUpDurationMs: 300_000,
      maxRescalesPerHour: 6,
    });
    expect(resolvePolicy(undefined, 12)).toEqual(resolvePolicy({}, 12));
  });

  const cases: { name: string; spec: AutoscalerSpec; maxParallelism: number; expect: Record<string, unknown> }[] = [
    {
      name: 'takes what the spec says',
      spec: {
        enabled: true,
        mode: 'Scale',
        minReplicas: 2,
        maxReplicas: 6,
        targetUtilization: 0.5,
        utilizationBoundary: 0.1,
        metricsWindow: '30s',
        stabilization: '2m',
        scaleUpGracePeriod: '15s',
        scaleDownDelay: '10m',
        catchUpDuration: '1m30s',
        maxRescalesPerHour: 3,
      },
      maxParallelism: 8,
      expect: {
        enabled: true,
        mode: 'Scale',
        minReplicas: 2,
        maxReplicas: 6,
        targetUtilization: 0.5,
        utilizationBoundary: 0.1,
        metricsWindowMs: 30_000,
        stabilizationMs: 120_000,
        scaleUpGracePeriodMs: 15_000,
        scaleDownDelayMs: 600_000,
        catchUpDurationMs: 90_000,
        maxRescalesPerHour: 3,
      },
    },
    {
      name: 'maxReplicas never above maxParallelism',
      spec: { maxReplicas: 50 },
      maxParallelism: 8,
      expect: { maxReplicas: 8 },
    },
    {
      name: 'minReplicas never above maxReplicas',
      spec: { minReplicas: 9, maxReplicas: 4 },
      maxParallelism: 8,
      expect: { minReplicas: 4 },
    },
    {
      name: 'a malformed duration takes its default',
      spec: { scaleDownDelay: 'soon' },
      maxParallelism: 8,
      expect: { scaleDownDelayMs: 300_000 },
    },
    {
      name: 'a window under 10s takes its default',
      spec: { metricsWindow: '2s' },
      maxParallelism: 8,
      expect: { metricsWindowMs: 60_000 },
    },
    {
      name: 'a target out of (0, 1] takes its default',
      spec: { targetUtilization: 1.5 },
      maxParallelism: 8,
      expect: { targetUtilization: 0.7 },
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      expect(resolvePolicy(c.spec, c.maxParallelism)).toMatchObject(c.expect);
    });
});

describe('validateAutoscaler', () => {
  const cases: { spec: AutoscalerSpec | undefined; issues: { path: string; message: RegExp }[] }[] = [
    { spec: undefined, issues: [] },
    { spec: { enabled: true, mode: 'Scale', minReplicas: 1, maxReplicas: 8, metricsWindow: '1m' }, issues: [] },
    {
      spec: { minReplicas: 5, maxReplicas: 3 },
      issues: [{ path: 'spec.autoscaler.minReplicas', message: /at most spec.autoscaler.maxReplicas \(3\), got 5/ }],
    },
    {
      spec: { maxReplicas: 9 },
      issues: [{ path: 'spec.autoscaler.maxReplicas', message: /at most spec.maxParallelism \(8\), got 9/ }],
    },
    {
      spec: { scaleDownDelay: '5 minutes', metricsWindow: '5s', stabilization: '-1s' },
      issues: [
        { path: 'spec.autoscaler.metricsWindow', message: /at least 10s, got "5s"/ },
        { path: 'spec.autoscaler.stabilization', message: /0s or more, got "-1s"/ },
        { path: 'spec.autoscaler.scaleDownDelay', message: /got "5 minutes"/ },
      ],
    },
    {
      spec: { minReplicas: 1.5, maxRescalesPerHour: 0 },
      issues: [
        { path: 'spec.autoscaler.minReplicas', message: /integer of at least 1, got 1.5/ },
        { path: 'spec.autoscaler.maxRescalesPerHour', message: /integer of at least 1, got 0/ },
      ],
    },
    {
      spec: { targetUtilization: 0, utilizationBoundary: 1, mode: 'Auto' as 'Scale' },
      issues: [
        { path: 'spec.autoscaler.targetUtilization', message: /\(0, 1\], got 0/ },
        { path: 'spec.autoscaler.utilizationBoundary', message: /\[0, 1\), got 1/ },
        { path: 'spec.autoscaler.mode', message: /Recommend or Scale, got "Auto"/ },
      ],
    },
  ];
  for (const c of cases)
    it(`${JSON.stringify(c.spec)} → ${c.issues.map((i) => i.path).join(', ') || 'valid'}`, () => {
      const issues = validateAutoscaler(c.spec, 8);
      expect(issues.map((i) => i.path)).toEqual(c.issues.map((i) => i.path));
      issues.forEach((issue, n) => expect(issue.message).toMatch((c.issues[n] as { message: RegExp }).message));
    });
});
