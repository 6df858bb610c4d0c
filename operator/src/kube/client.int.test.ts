import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, PatchTypes } from './client.ts';
import { ErrorCodes, KubeApiError, OperatorError, isAlreadyExists, isConflict, isNotFound } from './errors.ts';
import { Resources, type KubeObject } from './api-resources.ts';
import { createNamespace, deleteNamespace, waitFor } from './testing/cluster.ts';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

describe('KubeClient against the real API server', () => {
  let client: KubeClient;
  let ns: string;

  beforeAll(async () => {
    client = await KubeClient.fromDefault();
    ns = await createNamespace(client, 'kube-client');
  });

  afterAll(async () => {
    await deleteNamespace(client, ns);
    await client.close();
  });

  it('works from $KUBECONFIG and from a client-node KubeConfig alike', async () => {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    const viaKc = await KubeClient.fromKubeConfig(kc);
    const a = await client.get(Resources.Namespace, undefined, ns);
    const b = await viaKc.get(Resources.Namespace, undefined, ns);
    expect(b.metadata?.uid).toBe(a.metadata?.uid);
    // Wire JSON: timestamps stay strings.
    expect(typeof a.metadata?.creationTimestamp).toBe('string');
    await viaKc.close();
  });

  it('maps API failures to KubeApiError with status and reason', async () => {
    const err = await client.get(Resources.ConfigMap, ns, 'missing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(isNotFound(err)).toBe(true);
    expect((err as KubeApiError).reason).toBe('NotFound');

    const cm = await client.create<ConfigMap>(Resources.ConfigMap, {
      metadata: { name: 'c', namespace: ns },
      data: { a: '1' },
    });
    expect(
      isAlreadyExists(
        await client.create(Resources.ConfigMap, { metadata: { name: 'c', namespace: ns } }).catch((e: unknown) => e),
      ),
    ).toBe(true);
    await client.patch(Resources.ConfigMap, ns, 'c', { data: { a: '2' } }, { type: PatchTypes.merge });
    const stale = await client.replace(Resources.ConfigMap, { ...cm, data: { a: 'stale' } }).catch((e: unknown) => e);
    expect(isConflict(stale)).toBe(true);
    expect(isAlreadyExists(stale)).toBe(false);
  });

  it('server-side applies under a field manager, paginates lists, and deletes with preconditions', async () => {
    for (let i = 0; i < 7; i++)
      await client.apply(
        Resources.ConfigMap,
        { metadata: { name: `p${i}`, namespace: ns, labels: { page: 'yes' } }, data: { i: String(i) } },
        'client-test',
      );
    const applied = await client.get<ConfigMap>(Resources.ConfigMap, ns, 'p3');
    expect(applied.metadata?.managedFields?.some((f) => f.manager === 'client-test' && f.operation === 'Apply')).toBe(
      true,
    );
    const page1 = await client.list(Resources.ConfigMap, ns, { labelSelector: 'page=yes', limit: 5 });
    expect(page1.items).toHaveLength(5);
    const page2 = await client.list(Resources.ConfigMap, ns, {
      labelSelector: 'page=yes',
      limit: 5,
      continue: page1.metadata.continue ?? '',
    });
    expect(page2.items).toHaveLength(2);

    const wrongUid = await client
      .delete(Resources.ConfigMap, ns, 'p0', { preconditions: { uid: 'not-the-uid' } })
      .catch((e: unknown) => e);
    expect(isConflict(wrongUid)).toBe(true);
    const p0 = await client.get(Resources.ConfigMap, ns, 'p0');
    await client.delete(Resources.ConfigMap, ns, 'p0', { preconditions: { uid: p0.metadata?.uid ?? '' } });
    await waitFor('p0 gone', async () =>
      isNotFound(await client.get(Resources.ConfigMap, ns, 'p0').catch((e: unknown) => e)),
    );
  });

  it('reports an unreachable server as OPERATOR_KUBE_TRANSPORT', async () => {
    const dead = new KubeClient({ server: 'https://127.0.0.1:1', authHeaders: async () => ({}) });
    const err = await dead.get(Resources.Namespace, undefined, 'default').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperatorError);
    expect((err as OperatorError).code).toBe(ErrorCodes.KUBE_TRANSPORT);
    await dead.close();
  });
});
