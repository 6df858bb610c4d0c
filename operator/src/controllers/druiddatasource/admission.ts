// The DruidDatasource validating webhook (`/validate-druiddatasource`): refuses what a sync
// would fail on (spec-rules.ts) with the field paths, and warns about a basicAuthSecretRef
// that does not resolve to a Secret labelled tributary.dev/credentials "true" (the Secret may
// be applied or labelled next; until then the controller reports CredentialsUnavailable).
// Invariants as for StreamJobs: an UPDATE that leaves the spec alone is always allowed, and a
// failed lookup is a warning, never a refusal.
import {
  bounded,
  specUnchanged,
  type AdmissionHandler,
  type AdmissionRequest,
  type AdmissionVerdict,
  type KubeClient,
} from '../../kube/index.ts';
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import { readCredentialsSecret, type CredentialsSecret } from '../credentials/opted-in-secret.ts';
import { ControllerErrorCodes } from '../errors.ts';
import { describeIssues } from '../spec-issues.ts';
import { checkDatasourceSpec } from './spec-rules.ts';

export const druidDatasourceWebhookPath = '/validate-druiddatasource';

const maxIssueChars = 300;
const lookupTimeoutMs = 2_000;

export interface DruidDatasourceAdmissionDeps {
  readonly kube: Pick<KubeClient, 'list'>;
}

export function druidDatasourceAdmission(deps: DruidDatasourceAdmissionDeps): AdmissionHandler {
  return {
    path: druidDatasourceWebhookPath,
    kinds: [{ group: 'tributary.dev', kind: 'DruidDatasource' }],
    validate: (req, signal) => validateDruidDatasourceReview(req, deps, signal),
  };
}

export async function validateDruidDatasourceReview(
  req: AdmissionRequest,
  deps: DruidDatasourceAdmissionDeps,
  signal: AbortSignal,
): Promise<AdmissionVerdict> {
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return { allowed: true };
  if (specUnchanged(req)) return { allowed: true };
  const ds = req.object as DruidDatasource | undefined;
  if (!ds?.spec || typeof ds.spec !== 'object') return { allowed: false, message: 'spec: required' };
  const old = req.operation === 'UPDATE' ? (req.oldObject as DruidDatasource | undefined) : undefined;
  const { issues, warnings } = checkDatasourceSpec(ds, old?.spec ? old : undefined);
  if (issues.length > 0) {
    return {
      allowed: false,
      message: describeIssues(issues.map((i) => ({ path: i.path, message: bounded(i.message, maxIssueChars) }))),
    };
  }
  const namespace = req.namespace ?? ds.metadata?.namespace ?? '';
  const secretWarning = await credentialsWarning(deps, namespace, ds, signal);
  return { allowed: true, warnings: secretWarning ? [...warnings, secretWarning] : warnings };
}

async function credentialsWarning(
  deps: DruidDatasourceAdmissionDeps,
  namespace: string,
  ds: DruidDatasource,
  signal: AbortSignal,
): Promise<string | undefined> {
  const ref = ds.spec.druid?.basicAuthSecretRef;
  if (!ref?.name) return undefined;
  const path = 'spec.druid.basicAuthSecretRef';
  let secret: CredentialsSecret;
  try {
    secret = await readCredentialsSecret(
      deps.kube,
      namespace,
      ref.name,
      ControllerErrorCodes.DRUID_CREDENTIALS,
      path,
      AbortSignal.any([signal, AbortSignal.timeout(lookupTimeoutMs)]),
    );
  } catch (err) {
    const cause = (err as Error).cause;
    if (cause === undefined)
      return `${bounded((err as Error).message, maxIssueChars)}; the supervisor is not synced until it is`;
    return `${path}: Secret "${ref.name}" was not checked (${bounded((cause as Error).message, 120)})`;
  }
  const missing = [ref.usernameKey ?? 'username', ref.passwordKey ?? 'password'].filter(
    (k) => secret.data?.[k] === undefined,
  );
  return missing.length > 0
    ? `${path}: Secret "${ref.name}" has no key ${missing.map((k) => `"${k}"`).join(' or ')}; the supervisor is not synced until it has`
    : undefined;
}
