// Bench: the StreamJob controller managing N suspended StreamJobs (each gets its finalizer,
// control-token Secret, headless Service and a Suspended status), each with its state on S3
// through an opted-in credentials Secret (the chart's documented production setup), then:
//   - edits: every job's spec edited once (replicas 2 → 3), paced at `editsPerSecond`; for each
//     edit, the time from sending the PATCH to the first status write of the reconcile that saw
//     the new generation (the reconcile ran: observed, validated and wrote) — p50/p99/max;
//   - idle for `idleSeconds`: RSS, idle CPU, reconciles.
// LIST calls after start-up (after the informers' initial lists) are counted twice: by the
// operator's own client (CountingClient, per resource) and by the apiserver
// (apiserver_request_total{verb="LIST"} for the resources the operator reads, from
// `kubectl get --raw /metrics`; other clients of the cluster would add to it). Prints one JSON line.
//   node operator/src/controllers/streamjob/testing/bench-jobs.ts [N=500] [idleSeconds=30] [editsPerSec=25] [workers=4]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { isNotFound, Manager, Resources } from '../../../kube/index.ts';
import { deleteNamespace, newClient, suffix, waitFor } from '../../../kube/testing/cluster.ts';
import { CountingClient } from '../../../kube/testing/counting-client.ts';
import { createRegistry } from '../../../telemetry/metrics.ts';
import { repoRoot } from '../../../../../test/cluster/paths.ts';
import { CREDENTIALS_LABEL } from '../../../api/v1alpha1/credentials-label.ts';
import type { StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import { addStreamJobController } from '../controller.ts';
import { StreamJobs } from '../resource.ts';

const n = Number(process.argv[2] ?? 500);
const idleSeconds = Number(process.argv[3] ?? 30);
const editsPerSecond = Number(process.argv[4] ?? 25);
const workers = Number(process.argv[5] ?? 4);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const READS = ['streamjobs', 'pods', 'secrets', 'services', 'configmaps'];

/** apiserver_request_total{verb="LIST"} summed over the resources the operator reads. */
function apiserverLists(): number {
  let text: string;
  try {
    text = execFileSync('kubectl', ['get', '--raw', '/metrics'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  } catch {
    return Number.NaN; // no kubectl on PATH: the client-side count stands alone
  }
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{') || !line.includes('verb="LIST"')) continue;
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? '';
    if (READS.includes(resource)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** p50/p99/max of `ms`, rounded. */
function stats(ms: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
  return { p50: Math.round(at(50)), p99: Math.round(at(99)), max: Math.round(sorted.at(-1) ?? Number.NaN) };
}

const probe = await newClient();
const operatorClient = await CountingClient.forTestCluster();
await probe.request('PATCH', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/streamjobs.tributary.dev', {
  body: parse(readFileSync(join(repoRoot, 'crds/streamjobs.tributary.dev.yaml'), 'utf8')),
  contentType: 'application/apply-patch+yaml',
  query: { fieldManager: 'bench', force: true },
});
const ns = `sj-bench-${suffix()}`;
await probe.create(Resources.Namespace, {
  metadata: { name: ns, labels: { 'tributary.dev/test': 'streamjob-bench' } },
});
await probe.create(Resources.Secret, {
  metadata: { name: 's3-credentials', namespace: ns, labels: { [CREDENTIALS_LABEL]: 'true' } },
  stringData: { accessKeyId: 'bench', secretAccessKey: 'bench-secret' },
});
const graph = {
  sources: [
    { name: 'gen', datagen: { generator: 'schema', rate: 10, fields: { c: { type: 'string', values: ['a'] } } } },
  ],
  sinks: [{ name: 'out', from: 'gen', console: {} }],
};
const stateStorage = {
  s3: { bucket: 'bench', prefix: 'tributary', credentialsSecretRef: { name: 's3-credentials' } },
};
try {
  const registry = createRegistry();
  const mgr = new Manager({ client: operatorClient, registry });
  /** name → when its edit was sent (ms, performance clock); removed once its reconcile wrote. */
  const editSent = new Map<string, number>();
  const editLatency: number[] = [];
  const { close } = addStreamJobController(mgr, {
    namespace: ns,
    workers,
    afterWrite: (job) => {
      const t0 = editSent.get(job.metadata.name);
      if (t0 === undefined || (job.metadata.generation ?? 0) < 2) return;
      editSent.delete(job.metadata.name);
      editLatency.push(performance.now() - t0);
    },
  });
  const run = mgr.run();
  const jobs = mgr.informer<StreamJob>(StreamJobs, { namespace: ns });
  // The peer of the edit latency: when the edit's watch event reached the operator's cache
  // (nothing can reconcile sooner; under load this is mostly the apiserver's own latency).
  const watchLatency: number[] = [];
  jobs.addHandler({
    onAdd: () => undefined,
    onUpdate: (o, j) => {
      const t = editSent.get(j.metadata.name);
      if (t !== undefined && (o.metadata.generation ?? 0) < 2 && (j.metadata.generation ?? 0) >= 2)
        watchLatency.push(performance.now() - t);
    },
    onDelete: () => undefined,
  });
  await jobs.waitForSync();
  await sleep(2000); // every informer's initial list is done
  const clientListsAtStart = operatorClient.listTotal();
  const apiListsAtStart = apiserverLists();
  const t0 = Date.now();
  for (let i = 0; i < n; i += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, n - i) }, (_, j) =>
        probe.create(StreamJobs, {
          apiVersion: 'tributary.dev/v1alpha1',
          kind: 'StreamJob',
          metadata: { name: `job-${i + j}`, namespace: ns },
          spec: { state: 'suspended', replicas: 2, graph, stateStorage },
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
  await sleep(3000);

  // Edits, paced: each PATCH is sent on its own schedule, not after the previous one's reconcile.
  const edits: Promise<unknown>[] = [];
  const e0 = performance.now();
  for (let i = 0; i < n; i++) {
    const due = e0 + (i * 1000) / editsPerSecond;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    editSent.set(`job-${i}`, performance.now());
    edits.push(probe.patch(StreamJobs, ns, `job-${i}`, { spec: { replicas: 3 } }));
  }
  await Promise.all(edits);
  await waitFor('every edit reconciled', () => editLatency.length === n, 300_000, 200);
  /** Mean of a histogram so far, ms. */
  const meanMs = async (name: string) => {
    const v = (await registry.getSingleMetric(name)?.get())?.values ?? [];
    const total = (suffix: string) =>
      v
        .filter((x) => (x as { metricName?: string }).metricName === `${name}_${suffix}`)
        .reduce((a, x) => a + x.value, 0);
    return Math.round((total('sum') / Math.max(1, total('count'))) * 1000 * 10) / 10;
  };
  const reconcileMeanMs = await meanMs('tributary_operator_reconcile_time_seconds');
  const queueWaitMeanMs = await meanMs('tributary_operator_workqueue_queue_duration_seconds');
  await sleep(3000);

  const sum = async (name: string) =>
    (await registry.getSingleMetric(name)?.get())?.values.reduce((a, v) => a + v.value, 0) ?? 0;
  const reconcilesBefore = await sum('tributary_operator_reconcile_total');
  const listsBefore = operatorClient.listTotal();
  const cpu0 = process.cpuUsage();
  const w0 = Date.now();
  await sleep(idleSeconds * 1000);
  const cpu = process.cpuUsage(cpu0);
  const wall = Date.now() - w0;
  const mem = process.memoryUsage();
  const apiListsNow = apiserverLists();
  console.log(
    JSON.stringify({
      jobs: n,
      convergeMs,
      rssMiB: Math.round(mem.rss / 2 ** 20),
      heapUsedMiB: Math.round(mem.heapUsed / 2 ** 20),
      idleSeconds,
      idleCpuPercent: Number((((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(2)),
      reconcilesWhileIdle: (await sum('tributary_operator_reconcile_total')) - reconcilesBefore,
      editsPerSecond,
      workers,
      reconcileMeanMs,
      queueWaitMeanMs,
      editToReconcileMs: stats(editLatency),
      editToWatchEventMs: stats(watchLatency),
      // LISTs after start-up (creates, edits and idle), by the operator's client and seen by the apiserver.
      listsAfterStartup: operatorClient.listTotal() - clientListsAtStart,
      listsByResourceSinceStart: Object.fromEntries(operatorClient.lists),
      apiserverListsAfterStartup: apiListsNow - apiListsAtStart,
      listsWhileIdle: operatorClient.listTotal() - listsBefore,
      initialLists: clientListsAtStart,
      apiCalls: Object.fromEntries(
        [...operatorClient.calls].map(([k, c]) => [k, { n: c.n, meanMs: Math.round((c.ms / c.n) * 10) / 10 }]),
      ),
    }),
  );
  mgr.stop();
  await run;
  await close();
} finally {
  // finalizers would hold the namespace: drop them with the jobs' owner gone
  const left = await probe.list<StreamJob>(StreamJobs, ns);
  await Promise.all(
    left.items.map((j) =>
      probe.patch(StreamJobs, ns, j.metadata.name, { metadata: { finalizers: null } }).catch(() => undefined),
    ),
  );
  await deleteNamespace(probe, ns);
  // Gone before the next probe starts: the namespace controller's LISTs while it empties the
  // namespace would otherwise land in the next probe's apiserver count.
  await waitFor(
    `namespace ${ns} deleted`,
    () =>
      probe.get(Resources.Namespace, undefined, ns).then(
        () => false,
        (err: unknown) => isNotFound(err),
      ),
    300_000,
    500,
  );
  await probe.close();
  await operatorClient.close();
}
