import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, kubeMetrics } from '../telemetry/metrics.ts';
import type { KubeClient } from './client.ts';
import { setCondition, type Condition } from './conditions.ts';
import { Controller } from './controller.ts';
import { isNotFound } from './errors.ts';
import { EventRecorder } from './events.ts';
import { addFinalizer, hasFinalizer, isBeingDeleted, removeFinalizer } from './finalizers.ts';
import { Informer } from './informer.ts';
import { Resources, type KubeObject } from './api-resources.ts';
import { StatusWriter } from './status-writer.ts';
import {
  createNamespace,
  createTestCrd,
  deleteNamespace,
  newClient,
  suffix,
  waitFor,
  type TestCrd,
} from './testing/cluster.ts';

interface GadgetStatus {
  phase?: string;
  note?: string;
  observedGeneration?: number;
  conditions?: Condition[];
}
interface Gadget extends KubeObject {
  spec?: { size?: number };
  status?: GadgetStatus;
}

describe('status writer, finalizers and events on a CRD with a status subresource', () => {
  let client: KubeClient;
  let ns: string;
  let crd: TestCrd;

  beforeAll(async () => {
    client = await newClient();
    ns = await createNamespace(client, 'kube-status');
    crd = await createTestCrd(client, { group: `sw${suffix()}.test.tributary.dev`, kind: 'Gadget', plural: 'gadgets' });
  });

  afterAll(async () => {
    await deleteNamespace(client, ns);
    await crd.remove();
    await client.close();
  });

  function gadget(name: string, size = 1): Gadget {
    return { apiVersion: crd.apiVersion, kind: 'Gadget', metadata: { name, namespace: ns }, spec: { size } };
  }

  it('writes only when the status changed (resourceVersion moves once for two identical writes)', async () => {
    const metrics = kubeMetrics(createRegistry());
    const sw = new StatusWriter({ client, metrics });
    const g0 = await client.create(crd.resource, gadget('skip'));
    const at = new Date('2026-01-01T00:00:00Z');
    const desired = (s: GadgetStatus | undefined): GadgetStatus => ({
      ...s,
      phase: 'Running',
      observedGeneration: g0.metadata?.generation,
      conditions: setCondition(
        s?.conditions,
        { type: 'Ready', status: 'True', reason: 'Running', message: 'all good' },
        g0.metadata?.generation,
        at,
      ),
    });
    const first = await sw.update(crd.resource, g0, desired);
    expect(first.written).toBe(true);
    expect(first.object.metadata?.resourceVersion).not.toBe(g0.metadata?.resourceVersion);
    expect(first.object.status?.conditions?.[0]).toMatchObject({
      type: 'Ready',
      status: 'True',
      observedGeneration: 1,
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });

    // Same desired status from the fresh object, even with a later clock: no write.
    const fresh = await client.get<Gadget>(crd.resource, ns, 'skip');
    const second = await sw.update(crd.resource, fresh, (s) => ({
      ...desired(s),
      conditions: setCondition(
        s?.conditions,
        { type: 'Ready', status: 'True', reason: 'Running', message: 'all good' },
        1,
        new Date(),
      ),
    }));
    expect(second.written).toBe(false);
    const after = await client.get<Gadget>(crd.resource, ns, 'skip');
    expect(after.metadata?.resourceVersion).toBe(fresh.metadata?.resourceVersion);
    const writes = (await metrics.statusWrites.get()).values;
    expect(writes.find((v) => v.labels.result === 'written')?.value).toBe(1);
    expect(writes.find((v) => v.labels.result === 'skipped')?.value).toBe(1);
  });

  it("on a conflict re-reads and re-applies the change, keeping the other writer's status and never touching spec", async () => {
    const metrics = kubeMetrics(createRegistry());
    const sw = new StatusWriter({ client, metrics });
    const stale = await client.create(crd.resource, gadget('conflict', 1));
    // Meanwhile: a user edits spec and another writer sets a status field.
    await client.patch(crd.resource, ns, 'conflict', { spec: { size: 5 } });
    const other = await client.get<Gadget>(crd.resource, ns, 'conflict');
    await client.replace(
      crd.resource,
      { ...other, status: { note: 'from another writer' } },
      { subresource: 'status' },
    );

    const res = await sw.update(crd.resource, stale, (s) => ({ ...s, phase: 'Deploying' }));
    expect(res.written).toBe(true);
    const live = await client.get<Gadget>(crd.resource, ns, 'conflict');
    expect(live.spec).toEqual({ size: 5 });
    expect(live.status).toEqual({ note: 'from another writer', phase: 'Deploying' });
    expect((await metrics.statusWrites.get()).values.find((v) => v.labels.result === 'conflict')?.value).toBe(1);
  });

  it('a controller setting conditions converges and then stops writing (no hot loop on its own status events)', async () => {
    const metrics = kubeMetrics(createRegistry());
    const sw = new StatusWriter({ client, metrics });
    const gadgets = new Informer<Gadget>({ client, resource: crd.resource, namespace: ns, labelSelector: 'ctl=yes' });
    const controller = new Controller<Gadget>({
      name: 'gadget',
      for: gadgets,
      metrics,
      reconcile: async (req) => {
        const g = gadgets.get(req.namespace, req.name);
        if (!g) return;
        const gen = g.metadata?.generation;
        const ready = (g.spec?.size ?? 0) > 0;
        await sw.update(crd.resource, g, (s) => ({
          ...s,
          observedGeneration: gen,
          phase: ready ? 'Ready' : 'Invalid',
          conditions: setCondition(
            s?.conditions,
            ready
              ? { type: 'Ready', status: 'True', reason: 'SizeValid' }
              : { type: 'Ready', status: 'False', reason: 'SizeInvalid', message: 'size must be > 0' },
            gen,
          ),
        }));
      },
    });
    gadgets.start();
    await controller.start();
    await client.create(crd.resource, {
      ...gadget('ctl', 2),
      metadata: { name: 'ctl', namespace: ns, labels: { ctl: 'yes' } },
    });
    await waitFor('Ready', () => gadgets.get(ns, 'ctl')?.status?.phase === 'Ready');
    await client.patch(crd.resource, ns, 'ctl', { spec: { size: 0 } });
    await waitFor(
      'Invalid at generation 2',
      () =>
        gadgets.get(ns, 'ctl')?.status?.observedGeneration === 2 && gadgets.get(ns, 'ctl')?.status?.phase === 'Invalid',
    );
    const cond = gadgets.get(ns, 'ctl')?.status?.conditions?.[0];
    expect(cond).toMatchObject({ type: 'Ready', status: 'False', reason: 'SizeInvalid', observedGeneration: 2 });

    const rv = gadgets.get(ns, 'ctl')?.metadata?.resourceVersion;
    const written = (await metrics.statusWrites.get()).values.find((v) => v.labels.result === 'written')?.value;
    await new Promise((r) => setTimeout(r, 1000));
    expect(gadgets.get(ns, 'ctl')?.metadata?.resourceVersion).toBe(rv);
    expect((await metrics.statusWrites.get()).values.find((v) => v.labels.result === 'written')?.value).toBe(written);
    expect(written).toBe(2);
    await controller.stop();
    await gadgets.stop();
  });

  it('adds and removes a finalizer idempotently; deletion waits for its removal', async () => {
    const g = await client.create(crd.resource, gadget('fin'));
    const f = 'tributary.dev/cleanup';
    const added = await addFinalizer(client, crd.resource, g, f);
    expect(hasFinalizer(added, f)).toBe(true);
    const again = await addFinalizer(client, crd.resource, added, f);
    expect(again.metadata?.resourceVersion).toBe(added.metadata?.resourceVersion);
    // A stale copy (before the add) still converges, after a conflict and re-read.
    const other = await addFinalizer(client, crd.resource, g, 'example.com/other');
    expect(other.metadata?.finalizers).toEqual([f, 'example.com/other']);

    await client.delete(crd.resource, ns, 'fin');
    const deleting = await client.get<Gadget>(crd.resource, ns, 'fin');
    expect(isBeingDeleted(deleting)).toBe(true);
    const afterOne = await removeFinalizer(client, crd.resource, deleting, 'example.com/other');
    expect(afterOne?.metadata?.finalizers).toEqual([f]);
    await removeFinalizer(client, crd.resource, afterOne ?? deleting, f);
    await waitFor('deleted', async () => {
      try {
        await client.get(crd.resource, ns, 'fin');
        return false;
      } catch (err) {
        return isNotFound(err);
      }
    });
    // Removing from an object that is gone is a no-op.
    expect(await removeFinalizer(client, crd.resource, afterOne ?? deleting, f)).toBeUndefined();
  });

  it('aggregates repeated events into one Event with a count, and drops a flood beyond the spam burst', async () => {
    const metrics = kubeMetrics(createRegistry());
    const g = await client.create(crd.resource, gadget('ev'));
    const rec = new EventRecorder({ client, component: 'tributary-test', metrics, spamBurst: 6 });
    for (let i = 0; i < 5; i++) void rec.warning(g, 'SavepointFailed', 'savepoint timed out');
    await rec.normal(g, 'Started', 'slot pods created');
    // One more of the first kind: the burst (6) is used up, so it is dropped.
    await rec.warning(g, 'SavepointFailed', 'savepoint timed out');
    await rec.warning(g, 'SavepointFailed', 'savepoint timed out');

    const list = await client.list<
      KubeObject & { reason?: string; count?: number; type?: string; involvedObject?: { uid?: string } }
    >(Resources.Event, ns, {
      fieldSelector: `involvedObject.uid=${g.metadata?.uid}`,
    });
    const byReason = Object.fromEntries(list.items.map((e) => [e.reason, e]));
    expect(list.items).toHaveLength(2);
    expect(byReason.SavepointFailed).toMatchObject({ type: 'Warning', count: 5 });
    expect(byReason.Started).toMatchObject({ type: 'Normal', count: 1 });
    const results = Object.fromEntries((await metrics.events.get()).values.map((v) => [v.labels.result, v.value]));
    expect(results).toMatchObject({ created: 2, aggregated: 4, dropped: 2 });
  });
});
