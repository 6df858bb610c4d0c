import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, kubeMetrics } from '../telemetry/metrics.ts';
import type { KubeClient } from './client.ts';
import { Informer } from './informer.ts';
import { Resources, type KubeObject } from './api-resources.ts';
import { createNamespace, createTestCrd, deleteNamespace, newClient, suffix, waitFor } from './testing/cluster.ts';
import { TcpProxy } from './testing/tcp-proxy.ts';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

/** A custom resource of the test CRDs (createTestCrd keeps `spec`). */
interface Gadget extends KubeObject {
  spec?: { v?: string };
}

function recorder() {
  const events: string[] = [];
  return {
    events,
    handlers: {
      onAdd: (o: KubeObject) => events.push(`add:${o.metadata?.name}`),
      onUpdate: (old: ConfigMap & Gadget, o: ConfigMap & Gadget) =>
        events.push(`update:${o.metadata?.name}:${old.data?.v ?? old.spec?.v ?? ''}->${o.data?.v ?? o.spec?.v ?? ''}`),
      onDelete: (o: KubeObject) => events.push(`delete:${o.metadata?.name}`),
    },
  };
}

async function value(m: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await m.get()).values.reduce((a, v) => a + v.value, 0);
}

describe('Informer against the real API server', () => {
  let client: KubeClient;
  let ns: string;

  beforeAll(async () => {
    client = await newClient();
    ns = await createNamespace(client, 'kube-informer');
  });

  afterAll(async () => {
    await deleteNamespace(client, ns);
    await client.close();
  });

  it('lists, then sees add, update (with the old object) and delete; filters by label', async () => {
    await client.create(Resources.ConfigMap, {
      metadata: { name: 'pre', namespace: ns, labels: { pick: 'yes' } },
      data: { v: '0' },
    } as ConfigMap);
    const inf = new Informer<ConfigMap>({
      client,
      resource: Resources.ConfigMap,
      namespace: ns,
      labelSelector: 'pick=yes',
    });
    const rec = recorder();
    inf.addHandler(rec.handlers);
    inf.start();
    await inf.waitForSync();
    expect(inf.hasSynced()).toBe(true);
    expect(inf.get(ns, 'pre')?.data?.v).toBe('0');
    // managedFields are stripped from the cache by default.
    expect(inf.get(ns, 'pre')?.metadata?.managedFields).toBeUndefined();

    await client.create(Resources.ConfigMap, {
      metadata: { name: 'a', namespace: ns, labels: { pick: 'yes' } },
      data: { v: '1' },
    } as ConfigMap);
    await client.create(Resources.ConfigMap, {
      metadata: { name: 'ignored', namespace: ns },
      data: { v: '1' },
    } as ConfigMap);
    await client.patch(Resources.ConfigMap, ns, 'a', { data: { v: '2' } });
    await client.delete(Resources.ConfigMap, ns, 'a');
    await waitFor('delete of a', () => rec.events.includes('delete:a'));
    expect(rec.events).toEqual(['add:pre', 'add:a', 'update:a:1->2', 'delete:a']);
    expect(inf.get(ns, 'a')).toBeUndefined();
    expect(inf.list(ns).map((o) => o.metadata?.name)).toEqual(['pre']);
    expect(inf.list().length).toBe(1);
    await inf.stop();
  });

  it('maintains indexes through adds, relabels and deletes', async () => {
    const inf = new Informer<ConfigMap>({
      client,
      resource: Resources.ConfigMap,
      namespace: ns,
      labelSelector: 'tributary.dev/job',
    });
    inf.addIndex('job', (o) => [`${o.metadata?.namespace}/${o.metadata?.labels?.['tributary.dev/job']}`]);
    inf.start();
    await inf.waitForSync();
    for (const [name, job] of [
      ['x0', 'x'],
      ['x1', 'x'],
      ['y0', 'y'],
    ]) {
      await client.create(Resources.ConfigMap, {
        metadata: { name, namespace: ns, labels: { 'tributary.dev/job': job ?? '' } },
      });
    }
    const names = (job: string) =>
      inf
        .byIndex('job', `${ns}/${job}`)
        .map((o) => o.metadata?.name)
        .sort();
    await waitFor('indexed', () => names('x').length === 2 && names('y').length === 1);
    await client.patch(Resources.ConfigMap, ns, 'x1', { metadata: { labels: { 'tributary.dev/job': 'y' } } });
    await client.delete(Resources.ConfigMap, ns, 'x0');
    await waitFor('re-indexed', () => names('x').length === 0 && names('y').length === 2);
    expect(names('y')).toEqual(['x1', 'y0']);
    expect(inf.byIndex('nope', 'x')).toEqual([]);
    await inf.stop();
  });

  it('replays cached objects to a handler added after sync', async () => {
    const inf = new Informer<ConfigMap>({ client, resource: Resources.ConfigMap, namespace: ns });
    inf.start();
    await inf.waitForSync();
    const rec = recorder();
    inf.addHandler(rec.handlers);
    expect(rec.events).toContain('add:pre');
    await inf.stop();
  });

  it('re-opens a watch the server ends (timeoutSeconds) from its resourceVersion, without relisting', async () => {
    const metrics = kubeMetrics(createRegistry());
    const inf = new Informer<ConfigMap>({
      client,
      resource: Resources.ConfigMap,
      namespace: ns,
      minWatchTimeoutSeconds: 1,
      metrics,
    });
    const rec = recorder();
    inf.addHandler(rec.handlers);
    inf.start();
    await inf.waitForSync();
    // Several server-side watch timeouts pass.
    await new Promise((r) => setTimeout(r, 4500));
    await client.create(Resources.ConfigMap, { metadata: { name: 'after-timeouts', namespace: ns } });
    await waitFor('add after timeouts', () => rec.events.includes('add:after-timeouts'));
    expect(await value(metrics.informerRelists)).toBe(1);
    expect(await value(metrics.informerRestarts)).toBe(0);
    await inf.stop();
  });

  it('survives the API server going away: backs off, reconnects, and catches up on what changed meanwhile', async () => {
    const proxy = new TcpProxy(client.server);
    await proxy.start();
    const viaProxy = await newClient(proxy.url);
    const metrics = kubeMetrics(createRegistry());
    const inf = new Informer<ConfigMap>({
      client: viaProxy,
      resource: Resources.ConfigMap,
      namespace: ns,
      metrics,
      backoff: { initialMs: 200, maxMs: 1000 },
    });
    const rec = recorder();
    inf.addHandler(rec.handlers);
    inf.start();
    await inf.waitForSync();
    await client.create(Resources.ConfigMap, {
      metadata: { name: 'doomed', namespace: ns },
      data: { v: '1' },
    } as ConfigMap);
    await waitFor('add doomed', () => rec.events.includes('add:doomed'));

    await proxy.cut();
    // While the informer cannot reach the server: an add, an update and a delete.
    await client.create(Resources.ConfigMap, { metadata: { name: 'during-outage', namespace: ns } });
    await client.patch(Resources.ConfigMap, ns, 'pre', { data: { v: 'outage' } });
    await client.delete(Resources.ConfigMap, ns, 'doomed');
    await waitFor('a failed reconnect attempt', async () => (await value(metrics.informerRestarts)) >= 2, 15_000);
    // The cache keeps serving its last state while disconnected.
    expect(inf.get(ns, 'doomed')).toBeDefined();

    await proxy.restore();
    await waitFor(
      'catch-up after the outage',
      () =>
        rec.events.includes('add:during-outage') &&
        rec.events.includes('delete:doomed') &&
        rec.events.includes('update:pre:0->outage'),
      20_000,
    );
    expect(inf.get(ns, 'doomed')).toBeUndefined();

    // And it keeps watching afterwards.
    await client.create(Resources.ConfigMap, { metadata: { name: 'after-outage', namespace: ns } });
    await waitFor('add after outage', () => rec.events.includes('add:after-outage'));
    await inf.stop();
    await viaProxy.destroy();
    await proxy.stop();
  });

  it('relists at once when its watch resourceVersion expired (410 Gone), and the relist delivers what changed meanwhile', async () => {
    // The real server answers 410 for a watch from a resourceVersion older than its window;
    // which version is that old cannot be chosen, so this client stands in for the window
    // moving: a watch from the version the informer held is sent from version 1. The resource
    // is a CRD made for the test: its watch cache starts when the CRD is served, long after
    // version 1, so the server answers that watch with its 410 (ERROR event, reason Expired)
    // every time. (A built-in type's cache may still hold version 1 on a young cluster, and
    // serve the watch instead.) The watch in between is held, so only the relist can deliver
    // the changes made meanwhile.
    const crd = await createTestCrd(client, {
      group: `gone${suffix()}.test.tributary.dev`,
      kind: 'Gadget',
      plural: 'gadgets',
    });
    const gadget = (name: string, v?: string) =>
      client.create(crd.resource, {
        apiVersion: crd.apiVersion,
        kind: 'Gadget',
        metadata: { name, namespace: ns },
        ...(v !== undefined ? { spec: { v } } : {}),
      } as Gadget);
    let stale: string | undefined;
    let holding: (() => void) | undefined;
    let held = false;
    const gone: string[] = [];
    const real = client;
    const compacting = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop !== 'watch') {
          // Bound to the client itself: its methods use private fields, which a proxy `this` lacks.
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        }
        type Watch = KubeClient['watch'];
        return async (
          path: string,
          query: Parameters<Watch>[1],
          onEvent: Parameters<Watch>[2],
          signal: AbortSignal,
        ) => {
          if (holding && stale === undefined) {
            stale = String(query.resourceVersion);
            held = true;
            await new Promise<void>((r) => (holding = r));
          }
          const expired = stale !== undefined && query.resourceVersion === stale;
          return real.watch(
            path,
            expired ? { ...query, resourceVersion: '1' } : query,
            (ev) => {
              if (ev.type === 'ERROR') gone.push(String((ev.object as { code?: number }).code));
              onEvent(ev);
            },
            signal,
          );
        };
      },
    });
    const metrics = kubeMetrics(createRegistry());
    const inf = new Informer<Gadget>({
      client: compacting,
      resource: crd.resource,
      namespace: ns,
      minWatchTimeoutSeconds: 1,
      metrics,
    });
    const rec = recorder();
    inf.addHandler(rec.handlers);
    inf.start();
    await inf.waitForSync();
    await gadget('gone-pre', '0');
    await gadget('gone-doomed');
    await waitFor('both seen', () => rec.events.includes('add:gone-pre') && rec.events.includes('add:gone-doomed'));
    const relistsBefore = await value(metrics.informerRelists);

    holding = () => {};
    await waitFor('the next watch held', () => held);
    await gadget('gone-during');
    await client.patch(crd.resource, ns, 'gone-pre', { spec: { v: 'meanwhile' } });
    await client.delete(crd.resource, ns, 'gone-doomed');
    holding();

    await waitFor(
      'the relist diff',
      () =>
        rec.events.includes('add:gone-during') &&
        rec.events.includes('update:gone-pre:0->meanwhile') &&
        rec.events.includes('delete:gone-doomed'),
      20_000,
    );
    expect(gone).toContain('410');
    expect(await value(metrics.informerRelists)).toBe(relistsBefore + 1);
    // A 410 is not a failure: no backoff, no restart counted.
    expect(await value(metrics.informerRestarts)).toBe(0);
    expect(inf.get(ns, 'gone-doomed')).toBeUndefined();
    expect(inf.get(ns, 'gone-pre')?.spec?.v).toBe('meanwhile');
    // And it keeps watching from the relist's version.
    await gadget('gone-after');
    await waitFor('add after the relist', () => rec.events.includes('add:gone-after'));
    await inf.stop();
    await crd.remove();
  });

  it('keeps retrying while its resource type does not exist (404), and recovers when it is (re)created', async () => {
    const group = `inf${suffix()}.test.tributary.dev`;
    const crd = await createTestCrd(client, { group, kind: 'Widget', plural: 'widgets' });
    const metrics = kubeMetrics(createRegistry());
    const inf = new Informer<KubeObject>({
      client,
      resource: crd.resource,
      namespace: ns,
      metrics,
      backoff: { initialMs: 200, maxMs: 1000 },
    });
    const rec = recorder();
    inf.addHandler(rec.handlers);
    inf.start();
    await inf.waitForSync();
    await client.create(crd.resource, {
      apiVersion: crd.apiVersion,
      kind: 'Widget',
      metadata: { name: 'w1', namespace: ns },
    });
    await waitFor('add w1', () => rec.events.includes('add:w1'));

    // Deleting the CRD deletes its objects and breaks the watch; lists now fail with 404.
    await crd.remove();
    await waitFor(
      'restarts while the CRD is missing',
      async () => (await value(metrics.informerRestarts)) >= 2,
      20_000,
    );

    const again = await createTestCrd(client, { group, kind: 'Widget', plural: 'widgets' });
    await client.create(again.resource, {
      apiVersion: again.apiVersion,
      kind: 'Widget',
      metadata: { name: 'w2', namespace: ns },
    });
    await waitFor('add w2 after the CRD came back', () => rec.events.includes('add:w2'), 30_000);
    expect(rec.events).toContain('delete:w1');
    expect(inf.get(ns, 'w1')).toBeUndefined();
    await inf.stop();
    await again.remove();
  });
});
