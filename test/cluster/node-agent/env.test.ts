import { describe, expect, it } from 'vitest';
import { expandArgs, fieldRefValue, kubernetesServiceEnv, resolveContainerEnv, resourceFieldValue } from './env.ts';
import type { EnvLookups, PodFacts } from './env.ts';
import { expand } from './expansion.ts';
import type { ConfigMap, Container, Pod, Secret } from './kube-types.ts';

const facts: PodFacts = {
  podIP: '127.0.1.7',
  hostIP: '127.0.0.1',
  nodeName: 'tributary-node',
  nodeAllocatable: { cpu: 2, memory: 8 * 2 ** 30, 'ephemeral-storage': 2 ** 30 },
};

const pod: Pod = {
  metadata: {
    name: 'p',
    namespace: 'ns',
    uid: 'u-1',
    labels: { app: 'web', tier: 'a b' },
    annotations: { 'x.io/y': 'z' },
  },
  spec: { nodeName: 'tributary-node', serviceAccountName: 'sa', containers: [] },
};

function lookups(cms: Record<string, ConfigMap>, secrets: Record<string, Secret>): EnvLookups {
  return {
    configMap: (_ns, name) => Promise.resolve(cms[name]),
    secret: (_ns, name) => Promise.resolve(secrets[name]),
  };
}

describe('$(VAR) expansion', () => {
  const vars: Record<string, string> = { A: 'a', EMPTY: '' };
  const lookup = (n: string) => vars[n];
  it('follows the Kubernetes rules', () => {
    expect(expand('x$(A)y', lookup)).toBe('xay');
    expect(expand('$(EMPTY)', lookup)).toBe('');
    expect(expand('$(MISSING)', lookup)).toBe('$(MISSING)');
    expect(expand('$$(A)', lookup)).toBe('$(A)');
    expect(expand('$$$(A)', lookup)).toBe('$a');
    expect(expand('$A $', lookup)).toBe('$A $');
    expect(expand('$(A', lookup)).toBe('$(A');
    expect(expand('$(A)$(A)', lookup)).toBe('aa');
    expect(expand('no vars', lookup)).toBe('no vars');
  });
});

describe('container environment', () => {
  it('resolves downward-API fields', () => {
    expect(fieldRefValue(pod, 'metadata.name', facts)).toBe('p');
    expect(fieldRefValue(pod, 'metadata.namespace', facts)).toBe('ns');
    expect(fieldRefValue(pod, 'metadata.uid', facts)).toBe('u-1');
    expect(fieldRefValue(pod, "metadata.labels['app']", facts)).toBe('web');
    expect(fieldRefValue(pod, "metadata.annotations['x.io/y']", facts)).toBe('z');
    expect(fieldRefValue(pod, 'metadata.labels', facts)).toBe('app="web"\ntier="a b"');
    expect(fieldRefValue(pod, 'spec.nodeName', facts)).toBe('tributary-node');
    expect(fieldRefValue(pod, 'spec.serviceAccountName', facts)).toBe('sa');
    expect(fieldRefValue(pod, 'status.podIP', facts)).toBe('127.0.1.7');
    expect(fieldRefValue(pod, 'status.hostIP', facts)).toBe('127.0.0.1');
    expect(() => fieldRefValue(pod, 'spec.bogus', facts)).toThrow(/unsupported fieldRef/);
  });

  it('resolves resource fields, rounding up to the divisor; unset limits read as node allocatable', () => {
    const c: Container = {
      name: 'c',
      resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '250m' } },
    };
    expect(resourceFieldValue(c, 'limits.cpu', undefined, facts)).toBe('1');
    expect(resourceFieldValue(c, 'limits.cpu', '1m', facts)).toBe('500');
    expect(resourceFieldValue(c, 'requests.cpu', '1m', facts)).toBe('250');
    expect(resourceFieldValue(c, 'limits.memory', '1Mi', facts)).toBe('128');
    expect(resourceFieldValue({ name: 'd' }, 'limits.memory', undefined, facts)).toBe(String(8 * 2 ** 30));
    expect(resourceFieldValue({ name: 'd' }, 'requests.memory', undefined, facts)).toBe('0');
  });

  it('applies envFrom then env in order, with $(VAR) seeing only earlier variables and service env', async () => {
    const container: Container = {
      name: 'c',
      envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CM_' }, { secretRef: { name: 'sec' } }],
      env: [
        { name: 'LATER_REF', value: '$(FIRST)' },
        { name: 'FIRST', value: 'one' },
        { name: 'COMBINED', value: '$(FIRST)-$(CM_color)-$(KUBERNETES_SERVICE_PORT)-$$(FIRST)' },
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'FROM_CM', valueFrom: { configMapKeyRef: { name: 'cm', key: 'color' } } },
        { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 'sec', key: 'password' } } },
        { name: 'OPTIONAL_MISSING', valueFrom: { secretKeyRef: { name: 'nope', key: 'k', optional: true } } },
        { name: 'CM_color', value: 'overridden' },
      ],
    };
    const env = await resolveContainerEnv(
      pod,
      container,
      facts,
      lookups(
        { cm: { data: { color: 'blue' } } },
        { sec: { data: { password: Buffer.from('s3cret').toString('base64') } } },
      ),
      kubernetesServiceEnv('127.0.0.1', '16443'),
    );
    expect(env.LATER_REF).toBe('$(FIRST)');
    expect(env.COMBINED).toBe('one-blue-16443-$(FIRST)');
    expect(env.POD_IP).toBe('127.0.1.7');
    expect(env.FROM_CM).toBe('blue');
    expect(env.FROM_SECRET).toBe('s3cret');
    expect(env.password).toBe('s3cret');
    expect(env.CM_color).toBe('overridden');
    expect(env).not.toHaveProperty('OPTIONAL_MISSING');
    expect(env.KUBERNETES_SERVICE_HOST).toBe('127.0.0.1');
    expect(env.KUBERNETES_SERVICE_PORT).toBe('16443');
    expect(expandArgs(['--ip=$(POD_IP)', '$(UNKNOWN)'], env)).toEqual(['--ip=127.0.1.7', '$(UNKNOWN)']);
  });

  it('fails with NODE_AGENT_ENV naming a missing non-optional reference', async () => {
    const run = (container: Container) =>
      resolveContainerEnv(pod, container, facts, lookups({ cm: { data: {} } }, {}), {});
    await expect(
      run({ name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } }] }),
    ).rejects.toThrow("couldn't find key k in ConfigMap ns/cm");
    await expect(
      run({ name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }),
    ).rejects.toMatchObject({
      code: 'NODE_AGENT_ENV',
      message: 'secret "s" not found',
    });
    await expect(run({ name: 'c', envFrom: [{ configMapRef: { name: 'gone' } }] })).rejects.toThrow(
      'configmap "gone" not found',
    );
    await expect(run({ name: 'c', envFrom: [{ configMapRef: { name: 'gone', optional: true } }] })).resolves.toEqual(
      {},
    );
  });
});
