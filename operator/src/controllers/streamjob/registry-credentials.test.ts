// Registry credentials by Secret: the Secret must be opted in and hold the keys, each problem
// named by field, Secret and key; the slot pods read the keys by reference into the variables
// the runtime reads (the same names on both sides).
import { describe, expect, it } from 'vitest';
import type { StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';
import { registrySecretEnv } from '../../../../runtime/src/connectors/kafka/registry-secret-env.ts';
import type { CredentialsSecret } from '../credentials/opted-in-secret.ts';
import { slotPod } from './objects/slot-pod.ts';
import { namesRegistrySecret, registryCredentialsEnv, registryCredentialsIssues } from './registry-credentials.ts';
import { effectiveStateStorage } from './state-storage.ts';
import { sampleJob, sampleSpec } from './testing/sample-job.ts';

const registry = (secretRef: Record<string, string>) => ({
  url: 'https://registry.example:8081/apis/ccompat/v7',
  schema: { version: 'latest' },
  basicAuth: { secretRef },
});

const spec = {
  ...sampleSpec,
  graph: {
    sources: [
      { name: 'in', kafka: { brokers: 'k:9092', topic: 'in', format: 'avro', registry: registry({ name: 'reg' }) } },
    ],
    steps: [],
    sinks: [
      {
        name: 'out',
        from: 'in',
        kafka: {
          brokers: 'k:9092',
          topic: 'out',
          format: 'avro',
          registry: {
            ...registry({ name: 'writer', usernameKey: 'u', passwordKey: 'p' }),
            schema: { inline: '"string"' },
          },
        },
      },
    ],
  },
} as unknown as StreamJobSpec;

const secret = (name: string, data: Record<string, string>, labelled = true): CredentialsSecret => ({
  metadata: { name, namespace: 'n', ...(labelled ? { labels: { 'tributary.dev/credentials': 'true' } } : {}) },
  data,
});
const cache = (...secrets: CredentialsSecret[]) => ({
  get: (ns: string, name: string) => secrets.find((s) => s.metadata?.namespace === ns && s.metadata?.name === name),
});

describe('registry credentials by Secret', () => {
  it('names each Secret that is not opted in or lacks a key, by field', () => {
    const job = sampleJob(spec);
    const ok = [secret('reg', { username: 'dQ==', password: 'cA==' }), secret('writer', { u: 'dQ==', p: 'cA==' })];
    expect(registryCredentialsIssues(cache(...ok), job)).toEqual([]);
    const issues = registryCredentialsIssues(
      cache(secret('reg', { username: 'dQ==', password: 'cA==' }, false), secret('writer', { u: 'dQ==' })),
      job,
    );
    expect(issues).toEqual([
      {
        path: 'spec.graph.sources[0].kafka.registry.basicAuth.secretRef',
        message: expect.stringContaining('Secret n/reg not found with label tributary.dev/credentials: "true"'),
      },
      {
        path: 'spec.graph.sinks[0].kafka.registry.basicAuth.secretRef.passwordKey',
        message: 'Secret n/writer has no key "p"',
      },
    ]);
  });

  it('gives the slot pods each key by reference, in the variables the runtime reads', () => {
    const env = registryCredentialsEnv(spec);
    const reg = registrySecretEnv({ name: 'reg' });
    const writer = registrySecretEnv({ name: 'writer', usernameKey: 'u', passwordKey: 'p' });
    expect(env).toEqual([
      { name: reg.username.env, valueFrom: { secretKeyRef: { name: 'reg', key: 'username' } } },
      { name: reg.password.env, valueFrom: { secretKeyRef: { name: 'reg', key: 'password' } } },
      { name: writer.username.env, valueFrom: { secretKeyRef: { name: 'writer', key: 'u' } } },
      { name: writer.password.env, valueFrom: { secretKeyRef: { name: 'writer', key: 'p' } } },
    ]);
    const pod = slotPod({
      job: sampleJob(spec),
      spec,
      storage: effectiveStateStorage(spec, {}),
      depId: 'd-1',
      slot: 0,
      parallelism: 1,
      image: 'img',
    });
    const podEnv = (pod.spec as { containers: { env: Record<string, unknown>[] }[] }).containers[0]!.env;
    expect(podEnv).toEqual(expect.arrayContaining(env));
    expect(JSON.stringify(pod)).not.toContain('dQ=='); // never the values
    expect(namesRegistrySecret(spec, 'writer')).toBe(true);
    expect(namesRegistrySecret(spec, 'other')).toBe(false);
    expect(registryCredentialsEnv(sampleSpec)).toEqual([]);
  });
});
