// spec.autoscaler resolved: every absent field takes its documented default (docs/operator/autoscaler.md;
// the CRD has no schema defaults, so a newer operator may change one), durations in milliseconds.
// validateAutoscaler checks what the CRD schema cannot: the durations' syntax and the fields' relations.
import { parseDuration } from '../../../../../runtime/src/graph/duration.ts';
import type { AutoscalerMode, AutoscalerSpec } from '../../../api/v1alpha1/autoscaler.ts';
import type { SpecIssue } from '../../spec-issues.ts';

export interface AutoscalerPolicy {
  readonly enabled: boolean;
  readonly mode: AutoscalerMode;
  readonly minReplicas: number;
  /** Already bounded by maxParallelism. */
  readonly maxReplicas: number;
  readonly targetUtilization: number;
  readonly utilizationBoundary: number;
  readonly metricsWindowMs: number;
  readonly stabilizationMs: number;
  readonly scaleUpGracePeriodMs: number;
  readonly scaleDownDelayMs: number;
  readonly catchUpDurationMs: number;
  readonly maxRescalesPerHour: number;
}

/** The defaults of docs/operator/autoscaler.md (maxReplicas defaults to maxParallelism, not listed here). */
export const AUTOSCALER_DEFAULTS = {
  enabled: false,
  mode: 'Recommend',
  minReplicas: 1,
  targetUtilization: 0.7,
  utilizationBoundary: 0.2,
  metricsWindow: '1m',
  stabilization: '1m',
  scaleUpGracePeriod: '0s',
  scaleDownDelay: '5m',
  catchUpDuration: '5m',
  maxRescalesPerHour: 6,
} as const satisfies Required<Omit<AutoscalerSpec, 'maxReplicas'>>;

type DurationField = 'metricsWindow' | 'stabilization' | 'scaleUpGracePeriod' | 'scaleDownDelay' | 'catchUpDuration';

/** Shortest metricsWindow and catchUpDuration: a rate over less is noise, a backlog drained in less is a spike. */
const MIN_WINDOW_MS = 10_000;

const DURATIONS: readonly { field: DurationField; minMs: number }[] = [
  { field: 'metricsWindow', minMs: MIN_WINDOW_MS },
  { field: 'stabilization', minMs: 0 },
  { field: 'scaleUpGracePeriod', minMs: 0 },
  { field: 'scaleDownDelay', minMs: 0 },
  { field: 'catchUpDuration', minMs: MIN_WINDOW_MS },
];

/**
 * The policy a spec asks for. An invalid spec (validateAutoscaler reports it) still resolves: a malformed duration
 * takes its default and bounds are clamped, so a caller that reports the issues can still compute a Recommend.
 */
export function resolvePolicy(spec: AutoscalerSpec | undefined, maxParallelism: number): AutoscalerPolicy {
  const s = spec ?? {};
  const d = AUTOSCALER_DEFAULTS;
  const ms = (field: DurationField): number => {
    const v = parseDuration(s[field]);
    const min = DURATIONS.find((x) => x.field === field)?.minMs ?? 0;
    return v !== undefined && v >= min ? v : (parseDuration(d[field]) as number);
  };
  const top = Math.max(1, Math.floor(maxParallelism));
  const maxReplicas = Math.min(top, Math.max(1, Math.floor(s.maxReplicas ?? top)));
  const minReplicas = Math.min(maxReplicas, Math.max(1, Math.floor(s.minReplicas ?? d.minReplicas)));
  const target = s.targetUtilization;
  const boundary = s.utilizationBoundary;
  return {
    enabled: s.enabled ?? d.enabled,
    mode: s.mode ?? d.mode,
    minReplicas,
    maxReplicas,
    targetUtilization: target !== undefined && target > 0 && target <= 1 ? target : d.targetUtilization,
    utilizationBoundary: boundary !== undefined && boundary >= 0 && boundary < 1 ? boundary : d.utilizationBoundary,
    metricsWindowMs: ms('metricsWindow'),
    stabilizationMs: ms('stabilization'),
    scaleUpGracePeriodMs: ms('scaleUpGracePeriod'),
    scaleDownDelayMs: ms('scaleDownDelay'),
    catchUpDurationMs: ms('catchUpDuration'),
    maxRescalesPerHour: Math.max(1, Math.floor(s.maxRescalesPerHour ?? d.maxRescalesPerHour)),
  };
}

/** Problems of spec.autoscaler as SpecIssues (the shape validation.ts reports), each naming its field. */
export function validateAutoscaler(spec: AutoscalerSpec | undefined, maxParallelism: number): SpecIssue[] {
  if (spec === undefined) return [];
  const issues: SpecIssue[] = [];
  const at = (field: string, message: string): void => {
    issues.push({ path: `spec.autoscaler.${field}`, message });
  };
  for (const { field, minMs } of DURATIONS) {
    const text = spec[field];
    if (text === undefined) continue;
    const v = parseDuration(text);
    if (v === undefined || v < minMs)
      at(
        field,
        minMs > 0
          ? `expected a duration of at least ${minMs / 1000}s, got ${JSON.stringify(text)}`
          : `expected a duration of 0s or more, got ${JSON.stringify(text)}`,
      );
  }
  const int = (field: 'minReplicas' | 'maxReplicas' | 'maxRescalesPerHour', min: number): number | undefined => {
    const v = spec[field];
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || v < min) {
      at(field, `expected an integer of at least ${min}, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  };
  const min = int('minReplicas', 1);
  const max = int('maxReplicas', 1);
  int('maxRescalesPerHour', 1);
  if (min !== undefined && min > maxParallelism)
    at('minReplicas', `must be at most spec.maxParallelism (${maxParallelism}), got ${min}`);
  if (max !== undefined && max > maxParallelism)
    at('maxReplicas', `must be at most spec.maxParallelism (${maxParallelism}), got ${max}`);
  if (min !== undefined && max !== undefined && min > max)
    at('minReplicas', `must be at most spec.autoscaler.maxReplicas (${max}), got ${min}`);
  const target = spec.targetUtilization;
  if (target !== undefined && !(typeof target === 'number' && target > 0 && target <= 1))
    at('targetUtilization', `expected a share in (0, 1], got ${JSON.stringify(target)}`);
  const boundary = spec.utilizationBoundary;
  if (boundary !== undefined && !(typeof boundary === 'number' && boundary >= 0 && boundary < 1))
    at('utilizationBoundary', `expected a share in [0, 1), got ${JSON.stringify(boundary)}`);
  if (spec.mode !== undefined && spec.mode !== 'Recommend' && spec.mode !== 'Scale')
    at('mode', `expected Recommend or Scale, got ${JSON.stringify(spec.mode)}`);
  return issues;
}
