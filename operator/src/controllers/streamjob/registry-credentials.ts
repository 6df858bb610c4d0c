// Schema registry credentials a StreamJob names by Secret (`registry.basicAuth.secretRef` on a
// Kafka source or sink): as the S3 ones (state-credentials.ts), the Secret must exist in the
// job's namespace, carry tributary.dev/credentials: "true" and hold the keys named, checked from
// the cache of opted-in Secrets before any pod is made from the spec; the slot pods then read
// the keys by reference into the variables the runtime reads them from
// (runtime/src/connectors/kafka/registry-secret-env.ts). A Secret that does not qualify makes the
// spec invalid, naming the field, the Secret and the key.
import type { Informer } from '../../kube/index.ts';
import type { StreamJob, StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';
import { CREDENTIALS_LABEL } from '../../api/v1alpha1/credentials-label.ts';
import { registrySecretEnv, type RegistrySecretRef } from '../../../../runtime/src/control/contract.ts';
import type { CredentialsSecret } from '../credentials/opted-in-secret.ts';
import type { SpecIssue } from '../spec-issues.ts';

interface NamedRef {
  readonly path: string;
  readonly ref: RegistrySecretRef;
}

/** Every `basicAuth.secretRef` of the job's Kafka sources and sinks, with its field path. */
export function registrySecretRefs(spec: StreamJobSpec): NamedRef[] {
  const out: NamedRef[] = [];
  const graph = spec.graph;
  if (!graph) return out;
  const scan = (list: readonly unknown[] | undefined, kind: 'sources' | 'sinks') =>
    (list ?? []).forEach((node, i) => {
      const ref = (node as { kafka?: { registry?: { basicAuth?: { secretRef?: RegistrySecretRef } } } }).kafka?.registry
        ?.basicAuth?.secretRef;
      if (ref?.name) out.push({ path: `spec.graph.${kind}[${i}].kafka.registry.basicAuth.secretRef`, ref });
    });
  scan(graph.sources, 'sources');
  scan(graph.sinks, 'sinks');
  return out;
}

/** `optedIn`: the cache of Secrets labelled tributary.dev/credentials=true. */
export function registryCredentialsIssues(
  optedIn: Pick<Informer<CredentialsSecret>, 'get'>,
  job: StreamJob,
): SpecIssue[] {
  const ns = job.metadata.namespace;
  const issues: SpecIssue[] = [];
  for (const { path, ref } of registrySecretRefs(job.spec)) {
    const secret = optedIn.get(ns, ref.name);
    if (secret?.metadata?.labels?.[CREDENTIALS_LABEL] !== 'true') {
      issues.push({
        path,
        message:
          `Secret ${ns}/${ref.name} not found with label ${CREDENTIALS_LABEL}: "true"; ` +
          `a Secret is used as credentials only once it carries that label`,
      });
      continue;
    }
    const e = registrySecretEnv(ref);
    for (const [keyField, key] of [
      ['usernameKey', e.username.key],
      ['passwordKey', e.password.key],
    ] as const)
      if (!secret.data?.[key])
        issues.push({
          path: `${path}.${keyField}`,
          message: `Secret ${ns}/${ref.name} has no key ${JSON.stringify(key)}`,
        });
  }
  return issues;
}

/** The slot pods' variables for the job's registry Secrets, each key by reference, each variable once. */
export function registryCredentialsEnv(spec: StreamJobSpec): Record<string, unknown>[] {
  const env = new Map<string, Record<string, unknown>>();
  for (const { ref } of registrySecretRefs(spec)) {
    const e = registrySecretEnv(ref);
    for (const { env: name, key } of [e.username, e.password])
      env.set(name, { name, valueFrom: { secretKeyRef: { name: ref.name, key } } });
  }
  return [...env.values()];
}

/** Whether the job names Secret `name` for its registry credentials (its watch then wakes the job). */
export function namesRegistrySecret(spec: StreamJobSpec, name: string | undefined): boolean {
  return name !== undefined && registrySecretRefs(spec).some((r) => r.ref.name === name);
}
