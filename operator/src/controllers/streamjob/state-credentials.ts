// The S3 credentials a StreamJob names are checked before any pod is created from them: the
// Secret must exist in the job's namespace, carry tributary.dev/credentials: "true" and hold
// both keys. The pods then read the keys by reference (objects/state-access.ts). A Secret that
// does not qualify makes the spec invalid (status names the Secret and key) rather than
// producing pods that fail to start on a missing key or, worse, use a Secret never opted in.
import { ErrorCodes, type KubeClient } from '../../kube/index.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { readCredentialsSecret } from '../credentials/opted-in-secret.ts';
import type { SpecIssue } from '../spec-issues.ts';
import { DEFAULT_ACCESS_KEY_ID_KEY, DEFAULT_SECRET_ACCESS_KEY_KEY } from './objects/state-access.ts';
import type { EffectiveStateStorage } from './state-storage.ts';

const field = 'spec.stateStorage.s3.credentialsSecretRef';

export async function stateCredentialsIssues(
  kube: Pick<KubeClient, 'list'>,
  job: StreamJob,
  storage: EffectiveStateStorage,
  signal?: AbortSignal,
): Promise<SpecIssue[]> {
  const ref = storage.kind === 's3' ? storage.s3.credentialsSecretRef : undefined;
  if (!ref) return [];
  const ns = job.metadata.namespace;
  let data: Record<string, string>;
  try {
    data = (await readCredentialsSecret(kube, ns, ref.name, ErrorCodes.STATE_CREDENTIALS, field, signal)).data ?? {};
  } catch (err) {
    return [{ path: field, message: (err as Error).message.replace(`${field}: `, '') }];
  }
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
