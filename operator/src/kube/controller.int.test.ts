import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, kubeMetrics, type KubeMetrics } from '../telemetry/metrics.ts';
import type { KubeClient } from './client.ts';
import { Controller, type Reconciler } from './controller.ts';
import { TerminalError, isNotFound } from './errors.ts';
import { Informer } from './informer.ts';
import { deepEqualJson } from './json.ts';
import { ItemExponentialFailureRateLimiter } from './rate-limiter.ts';
import {
  Labels,
  MANAGED_BY,
  isControlledBy,
  ownerKeyMapper,
  standardLabels,
  withControllerReference,
} from './ownership.ts';
import { Resources, type KubeObject } from './api-resources.ts';
import { createNamespace, deleteNamespace, newClient, waitFor } from './testing/cluster.ts';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

async function count(metrics: KubeMetrics, controller: string, result: string): Promise<number> {
  return (
    (await metrics.reconcileTotal.get()).values.find(
      (v) => v.labels.controller === controller && v.labels.result === result,
    )?.value ?? 0
  );
}

function captureLogs() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, stream) };
}

describe('Controller against the real API server: a toy controller copying ConfigMap data into an owned ConfigMap', () => {
  let client: KubeClient;
  let ns: string;

  beforeAll(async () => {
    client = await newClient();
    ns = await createNamespace(client, 'kube-controller');
  });

  afterAll(async () => {
    await deleteNamespace(client, ns);
    await client.close();
  });

  function toyController(metrics: KubeMetrics, logger = pino({ level: 'silent' })) {
    const sources = new Informer<ConfigMap>({
      client,
      resource: Resources.ConfigMap,
      namespace: ns,
      labelSelector: 'role=source',
    });
    const copies = new Informer<ConfigMap>({
      client,
      resource: Resources.ConfigMap,
      namespace: ns,
      labelSelector: `${Labels.managedBy}=${MANAGED_BY}`,
    });
    let reconciles = 0;
    const reconcile: Reconciler = async (req, ctx) => {
      reconciles++;
      const src = sources.get(req.namespace, req.name);
      // Gone: the copy goes with it through its ownerReference (garbage collector).
      if (!src) return;
      const name = `${req.name}-copy`;
      const current = copies.get(req.namespace, name);
      if (current && isControlledBy(current, src) && deepEqualJson(current.data, src.data)) return;
      const desired = withControllerReference(src, {
        metadata: { name, namespace: req.namespace, labels: standardLabels(req.name) },
        data: src.data ?? {},
      });
      await client.apply(Resources.ConfigMap, desired, 'toy-controller');
      ctx.logger.info({ copy: name }, 'copied');
    };
    const controller = new Controller<ConfigMap>({
      name: 'toy',
      for: sources,
      watches: [{ informer: copies, map: ownerKeyMapper('', 'ConfigMap') }],
      reconcile,
      workers: 2,
      metrics,
      logger,
    });
    return { sources, copies, controller, reconciles: () => reconciles };
  }

  it('converges: creates the copy, follows updates, and recreates the copy when it is deleted (level-based)', async () => {
    const metrics = kubeMetrics(createRegistry());
    const logs = captureLogs();
    const { sources, copies, controller } = toyController(metrics, logs.logger);
    sources.start();
    copies.start();
    await controller.start();

    await client.create(Resources.ConfigMap, {
      metadata: { name: 'alpha', namespace: ns, labels: { role: 'source' } },
      data: { k: '1' },
    } as ConfigMap);
    await waitFor('copy created', () => copies.get(ns, 'alpha-copy')?.data?.k === '1');
    const copy = copies.get(ns, 'alpha-copy');
    expect(copy?.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'tributary',
      'tributary.dev/job': 'alpha',
    });
    expect(copy?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ConfigMap', name: 'alpha', controller: true });

    await client.patch(Resources.ConfigMap, ns, 'alpha', { data: { k: '2' } });
    await waitFor('copy updated', () => copies.get(ns, 'alpha-copy')?.data?.k === '2');

    // Someone deletes the owned object: the delete event maps to the owner's key, and the
    // reconcile, reading the cache, recreates it.
    const uidBefore = copies.get(ns, 'alpha-copy')?.metadata?.uid;
    await client.delete(Resources.ConfigMap, ns, 'alpha-copy');
    await waitFor('copy recreated', () => {
      const c = copies.get(ns, 'alpha-copy');
      return c !== undefined && c.metadata?.uid !== uidBefore && c.data?.k === '2';
    });

    // Someone edits the owned object: drift is reverted.
    await client.patch(Resources.ConfigMap, ns, 'alpha-copy', { data: { k: 'tampered' } });
    await waitFor('drift reverted', () => copies.get(ns, 'alpha-copy')?.data?.k === '2');

    // Deleting the owner lets the garbage collector remove the copy.
    await client.delete(Resources.ConfigMap, ns, 'alpha');
    await waitFor(
      'copy garbage-collected',
      async () => {
        try {
          await client.get(Resources.ConfigMap, ns, 'alpha-copy');
          return false;
        } catch (err) {
          return isNotFound(err);
        }
      },
      60_000,
      250,
    );

    expect(await count(metrics, 'toy', 'success')).toBeGreaterThanOrEqual(4);
    expect(await count(metrics, 'toy', 'error')).toBe(0);
    const text = await metrics.registry.metrics();
    expect(text).toContain('tributary_operator_reconcile_total{controller="toy",result="success"}');
    expect(text).toContain('tributary_operator_reconcile_time_seconds_bucket');
    expect(text).toContain('tributary_operator_workqueue_adds_total{name="toy"}');
    // One child logger per reconcile: controller, key and a reconcileId on every line.
    const copied = logs.lines.filter((l) => l.msg === 'copied');
    expect(copied.length).toBeGreaterThanOrEqual(3);
    for (const l of copied)
      expect(l).toMatchObject({ controller: 'toy', key: `${ns}/alpha`, reconcileId: expect.any(String) });
    expect(new Set(copied.map((l) => l.reconcileId)).size).toBe(copied.length);

    await controller.stop();
    await Promise.all([sources.stop(), copies.stop()]);
  });

  it('retries a failing reconcile with growing per-key backoff, and does not retry a TerminalError', async () => {
    const metrics = kubeMetrics(createRegistry());
    const cms = new Informer<ConfigMap>({
      client,
      resource: Resources.ConfigMap,
      namespace: ns,
      labelSelector: 'role=flaky',
    });
    const attempts = new Map<string, number[]>();
    const controller = new Controller<ConfigMap>({
      name: 'flaky',
      for: cms,
      rateLimiter: new ItemExponentialFailureRateLimiter(100, 10_000),
      metrics,
      reconcile: async (req) => {
        const times = attempts.get(req.name) ?? [];
        times.push(Date.now());
        attempts.set(req.name, times);
        if (req.name === 'hopeless') throw new TerminalError('spec can never work');
        if (req.name === 'flaky' && times.length <= 3) throw new Error(`transient failure ${times.length}`);
      },
    });
    cms.start();
    await controller.start();
    await client.create(Resources.ConfigMap, { metadata: { name: 'flaky', namespace: ns, labels: { role: 'flaky' } } });
    await client.create(Resources.ConfigMap, {
      metadata: { name: 'hopeless', namespace: ns, labels: { role: 'flaky' } },
    });
    await waitFor('flaky succeeds on the 4th attempt', () => attempts.get('flaky')?.length === 4, 10_000);
    const t = attempts.get('flaky') ?? [];
    const gaps = t.slice(1).map((v, i) => v - (t[i] ?? 0));
    // 100, 200, 400 ms (timer slack allowed).
    expect(gaps[0]).toBeGreaterThanOrEqual(95);
    expect(gaps[1]).toBeGreaterThanOrEqual(195);
    expect(gaps[2]).toBeGreaterThanOrEqual(395);
    expect(controller.queue.numRequeues(`${ns}/flaky`)).toBe(0);
    await new Promise((r) => setTimeout(r, 800));
    expect(attempts.get('hopeless')).toHaveLength(1);
    expect(await count(metrics, 'flaky', 'error')).toBe(3);
    expect(await count(metrics, 'flaky', 'terminal_error')).toBe(1);
    expect(await count(metrics, 'flaky', 'success')).toBe(1);
    await controller.stop();
    await cms.stop();
  });

  it('requeueAfter reconciles the key again later; stop() lets an in-flight reconcile finish', async () => {
    const metrics = kubeMetrics(createRegistry());
    const cms = new Informer<ConfigMap>({
      client,
      resource: Resources.ConfigMap,
      namespace: ns,
      labelSelector: 'role=poll',
    });
    let runs = 0;
    let inFlight = 0;
    let finished = 0;
    const controller = new Controller<ConfigMap>({
      name: 'poll',
      for: cms,
      metrics,
      reconcile: async () => {
        runs++;
        inFlight++;
        await new Promise((r) => setTimeout(r, 300));
        inFlight--;
        finished++;
        return { requeueAfter: 200 };
      },
    });
    cms.start();
    await controller.start();
    await client.create(Resources.ConfigMap, { metadata: { name: 'poll', namespace: ns, labels: { role: 'poll' } } });
    await waitFor('three polls', () => runs >= 3, 10_000);
    await waitFor('a reconcile in flight', () => inFlight === 1, 5_000, 5);
    await controller.stop(5_000);
    expect(inFlight).toBe(0);
    expect(finished).toBe(runs);
    const after = runs;
    await new Promise((r) => setTimeout(r, 700));
    expect(runs).toBe(after);
    expect(await count(metrics, 'poll', 'requeue_after')).toBe(runs);
    await cms.stop();
  });
});
