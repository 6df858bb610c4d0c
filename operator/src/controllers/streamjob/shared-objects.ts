// The objects a StreamJob needs whatever is deployed: the control-token Secret (created once;
// the token is kept in memory because the Secret cache may lag behind our own create) and the
// headless Service. Both are owned by the job and go with it; one of those names held by an
// object the job does not control is refused (OPERATOR_NOT_OWNED), never adopted.
import type { Logger } from 'pino';
import { isAlreadyExists, Resources } from '../../kube/index.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import type { StreamJobReconcilerDeps } from './job-context.ts';
import { assertSameController, createIgnoringExists } from './idempotent-writes.ts';
import { tokenSecret, tokenSecretName, type Secret } from './objects/control-token.ts';
import { headlessService } from './objects/headless-service.ts';

/** `tokens`: the control token per job key, as created or read by this process. */
export async function ensureShared(
  deps: Pick<StreamJobReconcilerDeps, 'kube' | 'secrets' | 'services'>,
  tokens: Map<string, string>,
  job: StreamJob,
  log: Logger,
): Promise<void> {
  const ns = job.metadata.namespace;
  const key = `${ns}/${job.metadata.name}`;
  const cached = deps.secrets.get(ns, tokenSecretName(job.metadata.name));
  if (cached) assertSameController(cached, tokenSecret(job, ''), 'Secret');
  else if (!tokens.has(key)) {
    const token = randomToken();
    try {
      await deps.kube.create(Resources.Secret, tokenSecret(job, token));
      tokens.set(key, token);
      log.info('control token secret created');
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Someone else's Secret of that name is never taken as the job's token.
      const s = await deps.kube.get<Secret>(Resources.Secret, ns, tokenSecretName(job.metadata.name));
      assertSameController(s, tokenSecret(job, ''), 'Secret');
      const data = s.data?.token;
      if (data) tokens.set(key, Buffer.from(data, 'base64').toString('utf8'));
    }
  }
  const service = deps.services.get(ns, job.metadata.name);
  if (service) assertSameController(service, headlessService(job), 'Service');
  else await createIgnoringExists(deps.kube, Resources.Service, headlessService(job));
}

function randomToken(): string {
  return globalThis.crypto
    .getRandomValues(new Uint8Array(24))
    .reduce((a, b) => a + b.toString(16).padStart(2, '0'), '');
}
