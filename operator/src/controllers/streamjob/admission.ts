// The StreamJob validating webhook (`/validate-streamjob`): what the reconciler would report
// as Degraded/InvalidSpec is refused at `kubectl apply`, with the field paths. Same rules as
// the reconciler (validateSpec: the runtime's full graph validation, durations, paths), so
// the door and the status never disagree. A druid sink naming a DruidDatasource that does not
// resolve is only a warning: the datasource may be applied next (in the same `kubectl apply
// -f dir/`), and the operator waits for it.
// A Kafka source reading a version of its registry subject is checked against that version's
// fields when the install lets the webhook call that registry (registry-admission.ts).
// Invariants: an UPDATE that leaves the spec alone is always allowed (finalizers, labels, a
// deletion of an object stored before the webhook existed); a failed or slow reference or
// registry lookup becomes a warning, never a refusal.
import {
  specUnchanged,
  bounded,
  type AdmissionHandler,
  type AdmissionRequest,
  type AdmissionVerdict,
  type KubeClient,
} from '../../kube/index.ts';
import type { StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';
import { loadDruidRefs, resolveDruidRefs } from './druid-refs.ts';
import type { PodPolicy } from './pod-template-rules.ts';
import { registryTypedIssues, type RegistryAdmission } from './registry-admission.ts';
import type { StorageDefaults } from './state-storage.ts';
import { describeIssues, validateSpec } from './validation.ts';

export const streamJobWebhookPath = '/validate-streamjob';

/** Each issue's message is cut to this: it may quote user input (an expression, a name). */
const maxIssueChars = 300;
/** Budget of the DruidDatasource and registry lookups (they run together); past it they are not checked. */
const lookupTimeoutMs = 2_000;

export interface StreamJobAdmissionDeps {
  readonly kube: Pick<KubeClient, 'get'>;
  /** What spec.podTemplate may name (default: no service account but the operator-made one). */
  readonly podPolicy?: PodPolicy;
  /** The operator's stateStorage default (what a spec without one gets). */
  readonly defaults?: StorageDefaults;
  /** The registries the webhook may ask for a source's schema (default: none). */
  readonly registries?: RegistryAdmission;
}

export function streamJobAdmission(deps: StreamJobAdmissionDeps): AdmissionHandler {
  return {
    path: streamJobWebhookPath,
    kinds: [{ group: 'tributary.dev', kind: 'StreamJob' }],
    validate: (req, signal) => validateStreamJobReview(req, deps, signal),
  };
}

export async function validateStreamJobReview(
  req: AdmissionRequest,
  deps: StreamJobAdmissionDeps,
  signal: AbortSignal,
): Promise<AdmissionVerdict> {
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return { allowed: true };
  if (specUnchanged(req)) return { allowed: true };
  const obj = req.object as { metadata?: { namespace?: string }; spec?: unknown } | undefined;
  const spec = obj?.spec;
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec))
    return { allowed: false, message: 'spec: required' };
  const issues = validateSpec(spec as StreamJobSpec, deps.podPolicy, deps.defaults);
  if (issues.length > 0) {
    return {
      allowed: false,
      message: describeIssues(issues.map((i) => ({ path: i.path, message: bounded(i.message, maxIssueChars) }))),
    };
  }
  const namespace = req.namespace ?? obj?.metadata?.namespace ?? '';
  const graph = (spec as StreamJobSpec).graph;
  const [druid, registry] = await Promise.all([
    druidRefWarnings(deps, namespace, graph, signal),
    registryTypedIssues(
      graph,
      deps.registries ?? { allowed: [] },
      AbortSignal.any([signal, AbortSignal.timeout(lookupTimeoutMs)]),
    ),
  ]);
  if (registry.issues.length > 0) {
    return {
      allowed: false,
      message: describeIssues(
        registry.issues.map((i) => ({ path: i.path, message: bounded(i.message, maxIssueChars) })),
      ),
      warnings: registry.warnings,
    };
  }
  return { allowed: true, warnings: [...registry.warnings, ...druid] };
}

async function druidRefWarnings(
  deps: StreamJobAdmissionDeps,
  namespace: string,
  graph: unknown,
  signal: AbortSignal,
): Promise<string[]> {
  try {
    const found = await loadDruidRefs(
      deps.kube,
      namespace,
      graph,
      AbortSignal.any([signal, AbortSignal.timeout(lookupTimeoutMs)]),
    );
    return resolveDruidRefs(graph, found, namespace).issues.map(
      (i) => `${i.path}: ${i.message}; the job is not deployed until it resolves`,
    );
  } catch (err) {
    return [
      `spec.graph.sinks: the DruidDatasource references were not checked (${bounded((err as Error).message, 120)})`,
    ];
  }
}
