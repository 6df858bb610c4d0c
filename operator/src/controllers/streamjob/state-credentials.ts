// The S3 credentials a StreamJob names are checked before any pod is created from them: the
// Secret must exist in the job's namespace, carry tributary.dev/credentials: "true" and hold
// both keys. The pods then read the keys by reference (objects/state-access.ts). A Secret that
// does not qualify makes the spec invalid (status names the Secret and key) rather than
// producing pods that fail to start on a missing key or, worse, use a Secret never opted in.
// The Secret is read from a cache fed by a watch of opted-in Secrets only (the label selector
// credentials/opted-in-secret.ts names: an unlabelled Secret's data never reaches the operator),
// so a reconcile costs no API call, and a Secret created, labelled or fixed later wakes the jobs
// that name it (controller.ts).
import type { Informer } from '../../kube/index.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { CREDENTIALS_LABEL } from '../../api/v1alpha1/credentials-label.ts';
import type { CredentialsSecret } from '../credentials/opted-in-secret.ts';
import type { SpecIssue } from '../spec-issues.ts';
import { DEFAULT_ACCESS_KEY_ID_KEY, DEFAULT_SECRET_ACCESS_KEY_KEY } from './objects/state-access.ts';
import type { EffectiveStateStorage } from './state-storage.ts';

const field = 'spec.stateStorage.s3.credentialsSecretRef';

/** The credentials Secret the job's state storage names, if any. */
export function credentialsSecretName(storage: EffectiveStateStorage): string | undefined {
  return storage.kind === 's3' ? storage.s3.credentialsSecretRef?.name : undefined;
}

/** `optedIn`: the cache of Secrets labelled tributary.dev/credentials=true. */
export function stateCredentialsIssues(
  optedIn: Pick<Informer<CredentialsSecret>, 'get'>,
  job: StreamJob,
  storage: EffectiveStateStorage,
): SpecIssue[] {
  const ref = storage.kind === 's3' ? storage.s3.credentialsSecretRef : undefined;
  if (!ref) return [];
  const ns = job.metadata.namespace;
  const secret = optedIn.get(ns, ref.name);
  if (secret?.metadata?.labels?.[CREDENTIALS_LABEL] !== 'true')
    return [
      {
        path: field,
        message:
          `Secret ${ns}/${ref.name} not found with label ${CREDENTIALS_LABEL}: "true"; ` +
          `a Secret is used as credentials only once it carries that label`,
      },
    ];
  const data = secret.data ?? {};
  const issues: SpecIssue[] = [];
  for (const [keyField, key] of [
    ['accessKeyIdKey', ref.accessKeyIdKey ?? DEFAULT_ACCESS_KEY_ID_KEY],
    ['secretAccessKeyKey', ref.secretAccessKeyKey ?? DEFAULT_SECRET_ACCESS_KEY_KEY],
  ] as const) {
    if (!data[key])
      issues.push({
        path: `${field}.${keyField}`,
        message: `Secret ${ns}/${ref.name} has no key ${JSON.stringify(key)}`,
      });
  }
  return issues;
}
