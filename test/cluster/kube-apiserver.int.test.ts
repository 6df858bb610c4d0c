import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CoreV1Api, KubeConfig, Watch, type V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const kubectl = (...args: string[]) =>
  spawnSync('kubectl', args, { encoding: 'utf8', env: process.env, timeout: 60_000 });

describe('the local kube-apiserver', () => {
  const kc = new KubeConfig();
  let core: CoreV1Api;
  const ns = `it-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    kc.loadFromFile(process.env.KUBECONFIG!);
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: ns } } });
  });

  afterAll(async () => {
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
    kubectl('delete', 'crd', 'widgets.test.tributary.dev', '--ignore-not-found');
  });

  it('reports its version as v1.36.x', () => {
    const out = kubectl('version', '-o', 'json');
    expect(out.status, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout).serverVersion.gitVersion).toMatch(/^v1\.36\.\d+$/);
  });

  it('delivers a ConfigMap created in a new namespace to a watch', async () => {
    const seen = new Promise<V1ConfigMap>((resolve, reject) => {
      void new Watch(kc)
        .watch(
          `/api/v1/namespaces/${ns}/configmaps`,
          {},
          (type, obj: V1ConfigMap) => {
            if (type === 'ADDED' && obj.metadata?.name === 'greeting') resolve(obj);
          },
          (err) => {
            if (err) reject(err as Error);
          },
        )
        .then((req) => setTimeout(() => req.abort(), 30_000));
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'greeting' }, data: { hello: 'world' } },
    });
    const cm = await seen;
    expect(cm.data).toEqual({ hello: 'world' });
  });

  it('rejects an object that violates a CRD x-kubernetes-validations rule, with the rule message', async () => {
    const crd = join(import.meta.dirname, 'testdata/widget-crd.yaml');
    expect(kubectl('apply', '-f', crd).status).toBe(0);
    execFileSync(
      'kubectl',
      ['wait', '--for=condition=Established', '--timeout=60s', 'crd/widgets.test.tributary.dev'],
      {
        env: process.env,
      },
    );
    const manifest = (replicas: number) =>
      `apiVersion: test.tributary.dev/v1\nkind: Widget\nmetadata: {name: w, namespace: ${ns}}\nspec: {replicas: ${replicas}, maxReplicas: 3}\n`;
    const bad = spawnSync('kubectl', ['apply', '-f', '-'], { input: manifest(5), encoding: 'utf8', env: process.env });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('replicas must not exceed maxReplicas');
    const good = spawnSync('kubectl', ['apply', '-f', '-'], { input: manifest(2), encoding: 'utf8', env: process.env });
    expect(good.status, good.stderr).toBe(0);
  });
});
