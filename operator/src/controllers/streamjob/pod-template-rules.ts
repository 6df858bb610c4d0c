// What spec.podTemplate may not say, because the operator ↔ runtime contract or the cluster's
// tenancy depends on it. Checked at admission (the webhook) and by the reconciler (a spec that
// slipped past is reported InvalidSpec and never deployed). Pure.
//   env: no name the contract owns: the TRIBUTARY_ prefix (but the tuning knobs below) and
//     NODE_OPTIONS / NODE_COMPILE_CACHE (either loads code into the runtime before it starts).
//     A user variable of such a name would override the contract (peers, the control token
//     file, the deployment id) or run code outside the engine's checks.
//   labels and annotations: nothing under tributary.dev/ and no app.kubernetes.io/managed-by:
//     the operator's selectors and ownership rest on them.
//   serviceAccountName: only a name the operator's install allows (--allowed-service-accounts);
//     otherwise the slots run as the operator-made <job>-runtime account. A CR author must not
//     borrow an account with more rights than the job needs.
import type { StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';

export interface PodPolicy {
  /** Service accounts a StreamJob may name in spec.podTemplate.serviceAccountName; empty = none. */
  readonly allowedServiceAccounts: readonly string[];
}

export const defaultPodPolicy: PodPolicy = { allowedServiceAccounts: [] };

/** TRIBUTARY_ variables a user may set: tuning the runtime reads, none part of the contract. */
export const USER_TUNABLE_ENV: readonly string[] = [
  'TRIBUTARY_LOG_LEVEL',
  'TRIBUTARY_PEER_TIMEOUT',
  'TRIBUTARY_RESCALE_BUDGET_BYTES',
  'TRIBUTARY_STOP_LINGER',
];
const reservedEnv = new Set(['NODE_OPTIONS', 'NODE_COMPILE_CACHE']);
const reservedLabelPrefix = 'tributary.dev/';
const managedBy = 'app.kubernetes.io/managed-by';

export function isReservedEnv(name: string): boolean {
  return (name.startsWith('TRIBUTARY_') && !USER_TUNABLE_ENV.includes(name)) || reservedEnv.has(name);
}

export function isReservedMetadataKey(key: string): boolean {
  return key.startsWith(reservedLabelPrefix) || key === managedBy;
}

export function checkPodTemplate(
  spec: Pick<StreamJobSpec, 'podTemplate'>,
  policy: PodPolicy,
): { path: string; message: string }[] {
  const tpl = spec.podTemplate;
  if (!tpl || typeof tpl !== 'object') return [];
  const issues: { path: string; message: string }[] = [];
  (Array.isArray(tpl.env) ? tpl.env : []).forEach((e, i) => {
    const name = (e as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || name === '')
      issues.push({ path: `spec.podTemplate.env[${i}].name`, message: 'required' });
    else if (isReservedEnv(name))
      issues.push({
        path: `spec.podTemplate.env[${i}].name`,
        message: `${JSON.stringify(name)} is set by the operator (the runtime contract); user variables may not use TRIBUTARY_* (except ${USER_TUNABLE_ENV.join(', ')}), NODE_OPTIONS or NODE_COMPILE_CACHE`,
      });
  });
  for (const kind of ['labels', 'annotations'] as const) {
    for (const key of Object.keys(tpl.metadata?.[kind] ?? {}))
      if (isReservedMetadataKey(key))
        issues.push({
          path: `spec.podTemplate.metadata.${kind}[${JSON.stringify(key)}]`,
          message: `the operator owns ${reservedLabelPrefix}* and ${managedBy} on slot pods`,
        });
  }
  const sa = tpl.serviceAccountName;
  if (sa && !policy.allowedServiceAccounts.includes(sa))
    issues.push({
      path: 'spec.podTemplate.serviceAccountName',
      message:
        policy.allowedServiceAccounts.length === 0
          ? `${JSON.stringify(sa)} is not allowed: this install lets slot pods run only as the operator-made <job>-runtime account`
          : `${JSON.stringify(sa)} is not allowed; allowed: ${policy.allowedServiceAccounts.join(', ')} (or none: the operator-made <job>-runtime account)`,
    });
  return issues;
}
