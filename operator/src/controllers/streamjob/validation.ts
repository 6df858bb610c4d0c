// What the CRD schema cannot check: the graph (the runtime's own validator) and the
// durations' meaning, and what the pod template may not say (pod-template-rules.ts).
// Invalid → the reconciler keeps running `status.deployed` and reports.
import { checkGraph } from '../../../../runtime/src/connectors/validate-graph.ts';
import { parseDuration } from '../../../../runtime/src/graph/duration.ts';
import { functionReferences } from '../../../../runtime/src/graph/function-step-rules.ts';
import type { StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';
import { MIN_PERIODIC_INTERVAL_MS } from './periodic-schedule.ts';
import { checkPodTemplate, defaultPodPolicy, type PodPolicy } from './pod-template-rules.ts';
import { stateStorageIssues, type StorageDefaults } from './state-storage.ts';

import type { SpecIssue } from '../spec-issues.ts';

export { describeIssues, type SpecIssue } from '../spec-issues.ts';

/** `defaults`: the operator's (stateStorage when the spec names no place). */
export function validateSpec(
  spec: StreamJobSpec,
  policy: PodPolicy = defaultPodPolicy,
  defaults: StorageDefaults = {},
): SpecIssue[] {
  const issues: SpecIssue[] = [...checkPodTemplate(spec, policy), ...stateStorageIssues(spec, defaults)];
  try {
    const { issues: graphIssues } = checkGraph(spec.graph, 'spec.graph');
    for (const i of graphIssues) issues.push({ path: i.path, message: i.message });
    // A StreamJob's slots run the graph alone: nothing there defines the job code's functions.
    for (const path of functionReferences(spec.graph, 'spec.graph'))
      issues.push({
        path,
        message: "names a function of the job's code; a StreamJob runs graphs without code (CEL steps only)",
      });
  } catch (err) {
    issues.push({ path: 'spec.graph', message: (err as Error).message });
  }
  const durations: [string, string | undefined][] = [
    ['spec.checkpointing.interval', spec.checkpointing?.interval],
    ['spec.checkpointing.timeout', spec.checkpointing?.timeout],
    ['spec.savepoints.timeout', spec.savepoints?.timeout],
    ['spec.savepoints.maxCheckpointAge', spec.savepoints?.maxCheckpointAge],
    ['spec.restartPolicy.backoff.initial', spec.restartPolicy?.backoff?.initial],
    ['spec.restartPolicy.backoff.max', spec.restartPolicy?.backoff?.max],
  ];
  for (const [path, v] of durations) {
    if (v !== undefined && !((parseDuration(v) ?? 0) > 0))
      issues.push({ path, message: `expected a positive duration, got ${JSON.stringify(v)}` });
  }
  const every = spec.savepoints?.interval;
  if (every !== undefined && !((parseDuration(every) ?? 0) >= MIN_PERIODIC_INTERVAL_MS))
    issues.push({
      path: 'spec.savepoints.interval',
      message: `expected a duration of at least 1s, got ${JSON.stringify(every)}`,
    });
  const sp = spec.restore?.savepointPath;
  if (sp && sp.split('/').includes('..'))
    issues.push({ path: 'spec.restore.savepointPath', message: 'must not contain ".."' });
  return issues;
}

export function durationMs(text: string | undefined, fallback: number): number {
  return parseDuration(text) ?? fallback;
}
