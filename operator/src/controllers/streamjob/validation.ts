// What the CRD schema cannot check: what the slots run (exactly one of a graph — checked by
// the runtime's own validator — and a job module of the image), the durations' meaning, and
// what the pod template may not say (pod-template-rules.ts).
// Invalid → the reconciler keeps running `status.deployed` and reports.
import { checkGraph, functionReferences } from '../../../../runtime/src/connectors/validate-graph.ts';
import { parseDuration } from '../../../../runtime/src/graph/duration.ts';
import type { StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';
import { validateAutoscaler } from './autoscaler/policy.ts';
import { RESTART_TIMES_KEPT } from './operation/restart-count.ts';
import { MIN_PERIODIC_INTERVAL_MS } from './periodic-schedule.ts';
import { checkPodTemplate, defaultPodPolicy, type PodPolicy } from './pod-template-rules.ts';
import { stateBackendIssues } from './state-backend.ts';
import { effectiveStateStorage, stateStorageIssues, type StorageDefaults } from './state-storage.ts';

import type { SpecIssue } from '../spec-issues.ts';

export { describeIssues, type SpecIssue } from '../spec-issues.ts';

/** `defaults`: the operator's (stateStorage when the spec names no place). */
export function validateSpec(
  spec: StreamJobSpec,
  policy: PodPolicy = defaultPodPolicy,
  defaults: StorageDefaults = {},
): SpecIssue[] {
  const issues: SpecIssue[] = [
    ...checkPodTemplate(spec, policy),
    ...stateStorageIssues(spec, defaults),
    ...stateBackendIssues(spec, effectiveStateStorage(spec, defaults)),
    ...jobSourceIssues(spec),
    // maxParallelism has a schema default; a spec the apiserver did not default is checked against it.
    ...validateAutoscaler(spec.autoscaler, spec.maxParallelism ?? 128),
  ];
  if (spec.graph !== undefined && spec.graph !== null) issues.push(...graphIssues(spec.graph));
  const durations: [string, string | undefined][] = [
    ['spec.checkpointing.interval', spec.checkpointing?.interval],
    ['spec.checkpointing.timeout', spec.checkpointing?.timeout],
    ['spec.savepoints.timeout', spec.savepoints?.timeout],
    ['spec.savepoints.maxCheckpointAge', spec.savepoints?.maxCheckpointAge],
    ['spec.restartPolicy.backoff.initial', spec.restartPolicy?.backoff?.initial],
    ['spec.restartPolicy.backoff.max', spec.restartPolicy?.backoff?.max],
    ['spec.restartPolicy.window', spec.restartPolicy?.window],
    ['spec.health.checkpointTimeout', spec.health?.checkpointTimeout],
  ];
  for (const [path, v] of durations) {
    if (v !== undefined && !((parseDuration(v) ?? 0) > 0))
      issues.push({ path, message: `expected a positive duration, got ${JSON.stringify(v)}` });
  }
  if (spec.health?.restartOnUnhealthy && spec.health.checkpointTimeout === undefined)
    issues.push({
      path: 'spec.health.restartOnUnhealthy',
      message: 'needs spec.health.checkpointTimeout (the bound past which a job is unhealthy)',
    });
  const every = spec.savepoints?.interval;
  if (every !== undefined && !((parseDuration(every) ?? 0) >= MIN_PERIODIC_INTERVAL_MS))
    issues.push({
      path: 'spec.savepoints.interval',
      message: `expected a duration of at least 1s, got ${JSON.stringify(every)}`,
    });
  // The schema's enum; checked here too for a spec that reached the operator unchecked (admission, tests).
  const rescaleMode: unknown = spec.rescale?.mode;
  if (rescaleMode !== undefined && rescaleMode !== 'live' && rescaleMode !== 'savepoint')
    issues.push({ path: 'spec.rescale.mode', message: `live or savepoint, got ${JSON.stringify(rescaleMode)}` });
  const maxRestarts = spec.restartPolicy?.maxRestarts;
  if (spec.restartPolicy?.window !== undefined && maxRestarts !== undefined && maxRestarts > RESTART_TIMES_KEPT)
    issues.push({
      path: 'spec.restartPolicy.maxRestarts',
      message: `at most ${RESTART_TIMES_KEPT} with restartPolicy.window (status keeps one time per counted restart), got ${maxRestarts}`,
    });
  const sp = spec.restore?.savepointPath;
  if (sp && sp.split('/').includes('..'))
    issues.push({ path: 'spec.restore.savepointPath', message: 'must not contain ".."' });
  return issues;
}

/** Exactly one of graph and job.module (the CRD says so too; a spec it did not check is caught here). */
function jobSourceIssues(spec: StreamJobSpec): SpecIssue[] {
  const hasGraph = spec.graph !== undefined && spec.graph !== null;
  const job = spec.job as unknown;
  if (job === undefined || job === null)
    return hasGraph
      ? []
      : [{ path: 'spec.graph', message: 'required: a job graph, or spec.job.module (a job module in the image)' }];
  if (hasGraph) return [{ path: 'spec.job', message: 'spec.graph and spec.job both say what the slots run; keep one' }];
  const module = (job as { module?: unknown }).module;
  const bad = (message: string): SpecIssue[] => [{ path: 'spec.job.module', message }];
  if (typeof module !== 'string' || module === '')
    return bad(`expected the path of a job module, got ${JSON.stringify(module)}`);
  if (!module.startsWith('/'))
    return bad(`must be an absolute path in the image (e.g. /app/jobs/clicks/job.ts), got "${module}"`);
  if (!/\.(m?js|m?ts)$/.test(module)) return bad(`expected a .js, .mjs, .ts or .mts module, got "${module}"`);
  return [];
}

function graphIssues(graph: unknown): SpecIssue[] {
  const issues: SpecIssue[] = [];
  try {
    for (const i of checkGraph(graph, 'spec.graph').issues) issues.push({ path: i.path, message: i.message });
    // A graph's slots run it alone: nothing there defines the job code's functions.
    for (const path of functionReferences(graph, 'spec.graph'))
      issues.push({
        path,
        message:
          "names a function of the job's code; a graph runs without code (CEL steps only): " +
          'ship the code in an image and name it in spec.job.module instead',
      });
  } catch (err) {
    issues.push({ path: 'spec.graph', message: (err as Error).message });
  }
  return issues;
}

export function durationMs(text: string | undefined, fallback: number): number {
  return parseDuration(text) ?? fallback;
}
