// The node agent together with the controller-manager: Deployments get their pods run, and
// the garbage collector's deletions are carried out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, createNamespace, getPod, isReady, waitFor, waitForPodGone } from './int-helpers.ts';
import type { KubeApi } from './kube-api.ts';
import type { ConfigMap, Pod } from './kube-types.ts';

describe('the node agent with the controller-manager', () => {
  let api: KubeApi;
  let ns: string;

  beforeAll(async () => {
    api = await adminApi();
    ns = await createNamespace(api);
  });

  afterAll(async () => {
    await api?.delete(`/api/v1/namespaces/${ns}`).catch(() => undefined);
    await api?.close();
  });

  const podsWithLabel = async (label: string): Promise<Pod[]> =>
    (await api.get<{ items: Pod[] }>(`/api/v1/namespaces/${ns}/pods`, { labelSelector: label })).items;

  it('runs the pod a Deployment creates through its ReplicaSet, and garbage-collects it when the Deployment goes', async () => {
    await api.post(`/apis/apps/v1/namespaces/${ns}/deployments`, {
      metadata: { name: 'web' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            terminationGracePeriodSeconds: 5,
            containers: [
              {
                name: 'main',
                image: 'busybox',
                command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
              },
            ],
          },
        },
      },
    });
    const [pod] = await waitFor(
      'a Ready pod of Deployment web',
      async () => {
        const pods = await podsWithLabel('app=web');
        return pods.length === 1 && pods.every(isReady) ? pods : false;
      },
      90_000,
    );
    expect(pod?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', controller: true });
    const deployment = await waitFor('Deployment web to report 1 available replica', async () => {
      const d = await api.get<{ status?: { availableReplicas?: number } }>(
        `/apis/apps/v1/namespaces/${ns}/deployments/web`,
      );
      return d.status?.availableReplicas === 1 ? d : false;
    });
    expect(deployment.status?.availableReplicas).toBe(1);

    await api.delete(`/apis/apps/v1/namespaces/${ns}/deployments/web`, { propagationPolicy: 'Background' });
    await waitFor(
      'the pods of Deployment web to be garbage-collected',
      async () => (await podsWithLabel('app=web')).length === 0,
      90_000,
    );
  });

  it('garbage-collects a pod whose owner (a ConfigMap) is deleted', async () => {
    const owner = await api.post<ConfigMap>(`/api/v1/namespaces/${ns}/configmaps`, {
      metadata: { name: 'owner' },
      data: {},
    });
    await api.post(`/api/v1/namespaces/${ns}/pods`, {
      metadata: {
        name: 'owned',
        labels: { app: 'owned' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata?.uid }],
      },
      spec: {
        terminationGracePeriodSeconds: 5,
        containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'exec sleep 3600'] }],
      },
    });
    await waitFor('pod owned to run', async () => (await getPod(api, ns, 'owned'))?.status?.phase === 'Running');
    await api.delete(`/api/v1/namespaces/${ns}/configmaps/owner`);
    await waitForPodGone(api, ns, 'owned', 90_000);
  });
});
