// The control-token Secret: the bearer token slot pods require on their control API, one per
// job, mounted into every slot pod. Pure builder.
import { withControllerReference, type KubeObject } from '../../../kube/index.ts';
import type { StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import { ownedMeta } from './metadata.ts';

export const TOKEN_KEY = 'token';

export interface Secret extends KubeObject {
  data?: Record<string, string>;
  type?: string;
}

export function tokenSecretName(job: string): string {
  return `${job}-control-token`;
}

export function tokenSecret(job: StreamJob, token: string): Secret {
  return withControllerReference(job, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: ownedMeta(job, tokenSecretName(job.metadata.name)),
    data: { [TOKEN_KEY]: Buffer.from(token).toString('base64') },
  });
}
