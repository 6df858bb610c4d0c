// Bench: the StreamJob controller managing N suspended StreamJobs (each gets its finalizer,
// control-token Secret, headless Service and a Suspended status), then idle. Prints one JSON
// line: RSS, idle CPU, reconciles and list calls while idle (and all list calls since start).
//   node operator/src/controllers/streamjob/testing/bench-jobs.ts [N=500] [idleSeconds=30]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Manager, Resources } from '../../../kube/index.ts';
import { deleteNamespace, newClient, suffix, waitFor } from '../../../kube/testing/cluster.ts';
import { createRegistry } from '../../../telemetry/metrics.ts';
import { repoRoot } from '../../../../../test/cluster/paths.ts';
import type { StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import { addStreamJobController } from '../controller.ts';
import { StreamJobs } from '../resource.ts';

const n = Number(process.argv[2] ?? 500);
const idleSeconds = Number(process.argv[3] ?? 30);
const client = await newClient();
await client.request('PATCH', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/streamjobs.tributary.dev', {
  body: parse(readFileSync(join(repoRoot, 'crds/streamjobs.tributary.dev.yaml'), 'utf8')),
  contentType: 'application/apply-patch+yaml',
  query: { fieldManager: 'bench', force: true },
});
const ns = `sj-bench-${suffix()}`;
await client.create(Resources.Namespace, {
  metadata: { name: ns, labels: { 'tributary.dev/test': 'streamjob-bench' } },
});
const graph = {
  sources: [
    { name: 'gen', datagen: { generator: 'schema', rate: 10, fields: { c: { type: 'string', values: ['a'] } } } },
  ],
  sinks: [{ name: 'out', from: 'gen', console: {} }],
};
try {
  const registry = createRegistry();
  const mgr = new Manager({ client, registry });
  const { close } = addStreamJobController(mgr, { namespace: ns });
  const run = mgr.run();
  const jobs = mgr.informer<StreamJob>(StreamJobs, { namespace: ns });
  const t0 = Date.now();
  for (let i = 0; i < n; i += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, n - i) }, (_, j) =>
        client.create(StreamJobs, {
          apiVersion: 'tributary.dev/v1alpha1',
          kind: 'StreamJob',
          metadata: { name: `job-${i + j}`, namespace: ns },
          spec: { state: 'suspended', replicas: 2, graph },
        }),
      ),
    );
  }
  await waitFor(
    'all Suspended',
    () => jobs.list().filter((j) => j.status?.phase === 'Suspended').length === n,
    900_000,
    1000,
  );
  const convergeMs = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 3000));
  const sum = async (name: string) =>
    (await registry.getSingleMetric(name)?.get())?.values.reduce((a, v) => a + v.value, 0) ?? 0;
  const reconcilesBefore = await sum('tributary_operator_reconcile_total');
  const listsBefore = await sum('tributary_operator_informer_relists_total');
  const cpu0 = process.cpuUsage();
  const w0 = Date.now();
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wall = Date.now() - w0;
  const mem = process.memoryUsage();
  console.log(
    JSON.stringify({
      jobs: n,
      convergeMs,
      rssMB: Math.round(mem.rss / 1e6),
      heapUsedMB: Math.round(mem.heapUsed / 1e6),
      idleSeconds,
      idleCpuPercent: Number((((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(2)),
      reconcilesWhileIdle: (await sum('tributary_operator_reconcile_total')) - reconcilesBefore,
      // Every full list since start (one initial list per informer, plus any relist).
      relistsTotal: await sum('tributary_operator_informer_relists_total'),
      listsWhileIdle: (await sum('tributary_operator_informer_relists_total')) - listsBefore,
    }),
  );
  mgr.stop();
  await run;
  await close();
} finally {
  // finalizers would hold the namespace: drop them with the jobs' owner gone
  const left = await client.list<StreamJob>(StreamJobs, ns);
  await Promise.all(
    left.items.map((j) =>
      client.patch(StreamJobs, ns, j.metadata.name, { metadata: { finalizers: null } }).catch(() => undefined),
    ),
  );
  await deleteNamespace(client, ns);
  await client.close();
}
