// Scale probe for the operator's resource budget (500 jobs: RSS < 150 MB, idle CPU near
// zero, no periodic lists). Creates N custom objects in a fresh namespace, runs a Manager
// whose controller gives each two owned ConfigMaps and a Ready condition, waits for
// convergence, then measures RSS and CPU while idle. Prints one JSON line.
//   node operator/src/kube/testing/scale-probe.ts [N=500] [idleSeconds=30]
import { createRegistry } from '../../telemetry/metrics.ts';
import { setCondition, type Condition } from '../conditions.ts';
import { Manager } from '../manager.ts';
import { ownerKeyMapper, standardLabels, withControllerReference, Labels, MANAGED_BY } from '../ownership.ts';
import { Resources, type KubeObject } from '../api-resources.ts';
import { createNamespace, createTestCrd, deleteNamespace, newClient, suffix, waitFor } from './cluster.ts';

interface Job extends KubeObject {
  spec?: { replicas?: number };
  status?: { conditions?: Condition[]; observedGeneration?: number };
}

const n = Number(process.argv[2] ?? 500);
const idleSeconds = Number(process.argv[3] ?? 30);
const client = await newClient();
const ns = await createNamespace(client, 'kube-scale');
const crd = await createTestCrd(client, { group: `scale${suffix()}.test.tributary.dev`, kind: 'Job', plural: 'jobs' });
try {
  const registry = createRegistry();
  const mgr = new Manager({ client, registry });
  const jobs = mgr.informer<Job>(crd.resource, { namespace: ns });
  const cms = mgr.informer<KubeObject>(Resources.ConfigMap, {
    namespace: ns,
    labelSelector: `${Labels.managedBy}=${MANAGED_BY}`,
  });
  mgr.addController<Job>({
    name: 'scale',
    for: jobs,
    workers: 4,
    watches: [{ informer: cms, map: ownerKeyMapper(crd.resource.group, 'Job') }],
    reconcile: async ({ namespace, name }) => {
      const job = jobs.get(namespace, name);
      if (!job) return;
      for (const slot of [0, 1]) {
        const cmName = `${name}-${slot}`;
        if (!cms.get(namespace, cmName)) {
          await client.apply(
            Resources.ConfigMap,
            withControllerReference(job, {
              metadata: { name: cmName, namespace, labels: standardLabels(name, slot) },
              data: { slot: String(slot) },
            }),
            'scale-probe',
          );
        }
      }
      await mgr.statusWriter.update(crd.resource, job, (s) => ({
        ...s,
        observedGeneration: job.metadata?.generation,
        conditions: setCondition(
          s?.conditions,
          { type: 'Ready', status: 'True', reason: 'Converged' },
          job.metadata?.generation,
        ),
      }));
    },
  });
  const run = mgr.run();
  const t0 = Date.now();
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, (_, j) =>
        client.create(crd.resource, {
          apiVersion: `${crd.resource.group}/v1`,
          kind: 'Job',
          metadata: { name: `job-${i + j}`, namespace: ns },
          spec: { replicas: 2 },
        }),
      ),
    );
  }
  await waitFor(
    'convergence',
    () => jobs.list().filter((j) => j.status?.conditions?.[0]?.status === 'True').length === n && cms.size === 2 * n,
    600_000,
    500,
  );
  const convergeMs = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 2000));
  global.gc?.();
  const reconcilesBefore =
    (await registry.getSingleMetric('tributary_operator_reconcile_total')?.get())?.values.reduce(
      (a, v) => a + v.value,
      0,
    ) ?? 0;
  const cpu0 = process.cpuUsage();
  const w0 = Date.now();
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wall = Date.now() - w0;
  const reconcilesAfter =
    (await registry.getSingleMetric('tributary_operator_reconcile_total')?.get())?.values.reduce(
      (a, v) => a + v.value,
      0,
    ) ?? 0;
  const relists = (await registry.getSingleMetric('tributary_operator_informer_relists_total')?.get())?.values.reduce(
    (a, v) => a + v.value,
    0,
  );
  const mem = process.memoryUsage();
  console.log(
    JSON.stringify({
      jobs: n,
      ownedConfigMaps: cms.size,
      convergeMs,
      rssMB: Math.round(mem.rss / 1e6),
      heapTotalMB: Math.round(mem.heapTotal / 1e6),
      externalMB: Math.round(mem.external / 1e6),
      arrayBuffersMB: Math.round(mem.arrayBuffers / 1e6),
      heapUsedMB: Math.round(mem.heapUsed / 1e6),
      idleSeconds,
      idleCpuPercent: Number((((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(2)),
      reconcilesWhileIdle: reconcilesAfter - reconcilesBefore,
      listCalls: relists,
    }),
  );
  mgr.stop();
  await run;
} finally {
  await deleteNamespace(client, ns);
  await crd.remove();
  await client.close();
}
