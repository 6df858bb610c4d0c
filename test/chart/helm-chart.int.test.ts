// The Helm chart on the real local cluster: lint, render both RBAC modes and let the real
// apiserver dry-run them, then `helm install` into a Pod Security `restricted` namespace
// watching one other namespace. The operator pod runs through the node agent, becomes Ready
// by its readiness probe, takes its Lease, and reconciles a DruidDatasource (a supervisor in
// the real Druid) and a StreamJob (runtime slot pods) with only the chart's RBAC. The CRDs
// are shared with concurrently running tests: they are applied (never deleted) and the
// release installs with crds.install=false; the CRD templates are covered by the dry-run.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Resources, type KubeClient, type KubeObject } from '../../operator/src/kube/index.ts';
import { newClient, suffix, waitFor } from '../../operator/src/kube/testing/cluster.ts';
import { DruidClient } from '../../operator/src/druid/client.ts';
import type { DruidDatasource } from '../../operator/src/api/v1alpha1/druiddatasource.ts';
import type { StreamJob } from '../../operator/src/api/v1alpha1/streamjob.ts';
import { DruidDatasources } from '../../operator/src/controllers/druiddatasource/resource.ts';
import { StreamJobs } from '../../operator/src/controllers/streamjob/resource.ts';
import { imageName, packageVersion } from '../../image/build.ts';
import { ensureHelm } from '../cluster/components/helm.ts';
import { clusterPaths, repoRoot } from '../cluster/paths.ts';
import type { DashboardJobDetail } from '../../runtime/src/dashboard/model.ts';
import { DashboardPaths } from '../../runtime/src/dashboard/model.ts';

const run = promisify(execFile);
const chart = join(repoRoot, 'charts/tributary');
const druidUrl = process.env.TRIBUTARY_DRUID_URL ?? '';
const kafka = process.env.TRIBUTARY_KAFKA_BROKERS ?? '';
const id = suffix();
const release = `trib-${id}`;
const relNs = `chart-rel-${id}`;
const watchNs = `chart-w-${id}`;
const otherNs = `chart-u-${id}`;
const fullname = `${release}-tributary`; // the chart's fullname: release + chart name
const sa = `system:serviceaccount:${relNs}:${fullname}`;
const dataSource = `chart_${id}`;

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string; renewTime?: string };
}
interface Pod extends KubeObject {
  spec?: { containers?: { image?: string; args?: string[]; readinessProbe?: { httpGet?: { path?: string } } }[] };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}
const ServiceAccounts = {
  group: '',
  version: 'v1',
  plural: 'serviceaccounts',
  kind: 'ServiceAccount',
  namespaced: true,
} as const;
type Condition = { type: string; status: string; reason?: string; message?: string };

async function sh(cmd: string, args: string[], input?: string): Promise<string> {
  const p = run(cmd, args, { env: process.env, maxBuffer: 64 << 20 });
  if (input !== undefined) p.child.stdin?.end(input);
  try {
    return (await p).stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`chart test: \`${cmd} ${args.join(' ')}\` failed: ${e.stderr || e.stdout || e.message}`, {
      cause: err,
    });
  }
}

/** `kubectl auth can-i` as the operator's service account: exit 0 = yes, 1 = no. */
async function canI(verb: string, resource: string, ns?: string, subresource?: string): Promise<boolean> {
  const args = ['auth', 'can-i', verb, resource, `--as=${sa}`, ...(ns ? ['-n', ns] : ['--all-namespaces'])];
  if (subresource) args.push(`--subresource=${subresource}`);
  try {
    await run('kubectl', args, { env: process.env });
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 1) return false;
    throw err;
  }
}

describe('Helm chart charts/tributary on the real local cluster', () => {
  let helm: string;
  let kube: KubeClient;
  let operatorPod = '';
  const druid = new DruidClient({ url: druidUrl || 'http://127.0.0.1:1' });

  beforeAll(async () => {
    if (!process.env.KUBECONFIG) throw new Error('chart test: KUBECONFIG not set (the integration setup sets it)');
    if (!druidUrl || !kafka)
      throw new Error(
        'chart test: TRIBUTARY_DRUID_URL / TRIBUTARY_KAFKA_BROKERS not set: the integration setup starts Druid and Kafka',
      );
    const t0 = Date.now();
    helm = await ensureHelm();
    console.log(`helm ready in ${((Date.now() - t0) / 1000).toFixed(1)}s: ${helm}`);
    kube = await newClient();
    // Shared, cluster-scoped: applied like the operator's own tests do, never deleted.
    for (const f of ['streamjobs.tributary.dev.yaml', 'druiddatasources.tributary.dev.yaml']) {
      const crd = parse(readFileSync(join(repoRoot, 'crds', f), 'utf8')) as { metadata: { name: string } };
      await kube.request('PATCH', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`, {
        body: crd,
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: 'test', force: true },
      });
    }
    const labels = { 'tributary.dev/test': 'chart' };
    await kube.create(Resources.Namespace, {
      metadata: { name: relNs, labels: { ...labels, 'pod-security.kubernetes.io/enforce': 'restricted' } },
    });
    await kube.create(Resources.Namespace, { metadata: { name: watchNs, labels } });
    await kube.create(Resources.Namespace, { metadata: { name: otherNs, labels } });
  }, 1_800_000);

  afterAll(async () => {
    if (!kube) return;
    // While the operator still runs, its finalizers terminate the supervisor and clean up.
    await kube.delete(StreamJobs, watchNs, 'chart-job').catch(() => undefined);
    await kube.delete(DruidDatasources, watchNs, 'chart-ds').catch(() => undefined);
    await waitFor(
      'the test objects to be finalized',
      async () => {
        const n =
          (await kube.list(StreamJobs, watchNs)).items.length +
          (await kube.list(DruidDatasources, watchNs)).items.length;
        return n === 0;
      },
      30_000,
      500,
    ).catch(() => undefined);
    await sh(helm, ['uninstall', release, '-n', relNs, '--wait', '--timeout', '60s']).catch(() => undefined);
    for (const rt of [StreamJobs, DruidDatasources]) {
      for (const o of (await kube.list(rt, watchNs).catch(() => ({ items: [] }))).items) {
        await kube
          .patch(rt, watchNs, o.metadata?.name ?? '', { metadata: { finalizers: null } })
          .catch(() => undefined);
      }
    }
    await druid.terminate(dataSource).catch(() => undefined);
    await druid.shutdownTasks(dataSource).catch(() => undefined);
    await druid.close();
    for (const ns of [watchNs, otherNs, relNs])
      await kube.delete(Resources.Namespace, undefined, ns).catch(() => undefined);
  }, 180_000);

  it('passes helm lint', async () => {
    for (const set of [[], ['--set', `watchNamespaces={${watchNs}}`]]) {
      const out = await sh(helm, ['lint', chart, '--strict', ...set]);
      expect(out).toContain('0 chart(s) failed');
    }
  });

  for (const mode of [
    'all namespaces (ClusterRole)',
    'watched namespaces (Roles)',
    'the release namespace (default)',
  ] as const) {
    it(`renders for ${mode} and the apiserver accepts it (dry-run=server)`, async () => {
      const watched = mode.startsWith('watched');
      const all = mode.startsWith('all');
      const args = [
        'template',
        `${release}-dry`,
        chart,
        '-n',
        relNs,
        ...(watched ? ['--set', `watchNamespaces={${watchNs}}`] : []),
        ...(all ? ['--set', 'clusterWide=true'] : []),
      ];
      const rendered = await sh(helm, args);
      const docs = parseAllDocuments(rendered)
        .map(
          (d) =>
            d.toJS() as {
              kind: string;
              metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
            } | null,
        )
        .filter((d) => d !== null);
      const kinds = docs.map((d) => `${d.kind}/${d.metadata.namespace ?? ''}`);
      if (!all) {
        const ns = watched ? watchNs : relNs;
        expect(kinds).toContain(`Role/${ns}`);
        expect(kinds).toContain(`RoleBinding/${ns}`);
        expect(kinds.filter((k) => k.startsWith('ClusterRole'))).toEqual([]);
      } else {
        expect(kinds).toContain('ClusterRole/');
        expect(kinds).toContain('ClusterRoleBinding/');
      }
      expect(kinds).toContain(`Role/${relNs}`); // leader election
      const crds = docs.filter((d) => d.kind === 'CustomResourceDefinition');
      expect(crds.map((d) => d.metadata.name).sort()).toEqual([
        'druiddatasources.tributary.dev',
        'streamjobs.tributary.dev',
      ]);
      for (const c of crds) expect(c.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
      const out = await sh('kubectl', ['apply', '--dry-run=server', '-f', '-'], rendered);
      expect(out).toContain(`deployment.apps/${release}-dry-tributary created (server dry run)`);
    });
  }

  it('renders the CRD, leader-election and metrics switches', async () => {
    const kindsOf = async (...set: string[]) => {
      const out = await sh(helm, ['template', 'r', chart, '-n', relNs, ...set.flatMap((s) => ['--set', s])]);
      return parseAllDocuments(out)
        .map(
          (d) =>
            d.toJS() as {
              kind: string;
              metadata: { name: string; annotations?: Record<string, string> };
              spec?: { strategy?: { type?: string } };
            } | null,
        )
        .filter((d) => d !== null);
    };
    const noKeep = (await kindsOf('crds.keep=false')).filter((d) => d.kind === 'CustomResourceDefinition');
    expect(noKeep.length).toBe(2);
    for (const c of noKeep) expect(c.metadata.annotations?.['helm.sh/resource-policy']).toBeUndefined();
    expect((await kindsOf('crds.install=false')).filter((d) => d.kind === 'CustomResourceDefinition')).toEqual([]);
    const single = await kindsOf('leaderElection.enabled=false');
    expect(single.find((d) => d.kind === 'Deployment')?.spec?.strategy?.type).toBe('Recreate');
    expect(single.filter((d) => d.kind === 'Role' && d.metadata.name.endsWith('-leader-election'))).toEqual([]);
    await expect(kindsOf('leaderElection.enabled=false', 'replicas=2')).rejects.toThrow(
      /needs leaderElection.enabled=true/,
    );
    await expect(kindsOf('logLevel=loud')).rejects.toThrow(/logLevel/);
    await expect(kindsOf('clusterWide=true', `watchNamespaces={${watchNs}}`)).rejects.toThrow(
      /clusterWide=true watches every namespace/,
    );
    const sm = await kindsOf('metrics.serviceMonitor.enabled=true');
    expect(sm.map((d) => d.kind)).toContain('ServiceMonitor');
  });

  it('helm install: the operator runs in a restricted namespace, leads, and reconciles with only its RBAC', async () => {
    const values = {
      watchNamespaces: [watchNs],
      crds: { install: false },
      logLevel: 'debug',
    };
    const t0 = Date.now();
    const valuesFile = join(mkdtempSync(join(tmpdir(), 'chart-test-')), 'values.json');
    writeFileSync(valuesFile, JSON.stringify(values));
    await sh(helm, ['install', release, chart, '-n', relNs, '-f', valuesFile]);
    const pod = await waitFor(
      'the operator pod to be Ready',
      async () => {
        const pods = (
          await kube.list<Pod>(Resources.Pod, relNs, { labelSelector: `app.kubernetes.io/instance=${release}` })
        ).items;
        return pods.find((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      },
      90_000,
      500,
    );
    operatorPod = pod.metadata?.name ?? '';
    console.log(`operator pod ${operatorPod} Ready ${((Date.now() - t0) / 1000).toFixed(1)}s after helm install`);
    const c = pod.spec?.containers?.[0];
    expect(c?.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(c?.args).toContain(`--namespaces=${watchNs}`);

    const lease = await waitFor(
      'the leader Lease',
      async () => {
        const l = await kube.get<Lease>(Resources.Lease, relNs, fullname);
        return l.spec?.holderIdentity ? l : undefined;
      },
      30_000,
      500,
    );
    expect(Date.now() - Date.parse(lease.spec?.renewTime ?? '0')).toBeLessThan(30_000);

    // A DruidDatasource in the watched namespace → a supervisor in the real Druid.
    await kube.create<DruidDatasource>(DruidDatasources, {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'DruidDatasource',
      metadata: { name: 'chart-ds', namespace: watchNs },
      spec: {
        druid: { url: druidUrl },
        dataSource,
        kafka: { bootstrapServers: kafka, topic: dataSource },
        dimensions: ['country'],
        metrics: [{ type: 'longSum', name: 'clicks', fieldName: 'clicks' }],
        deletionPolicy: 'Terminate',
      },
    } as unknown as DruidDatasource);
    // A StreamJob: datagen → window → console, stateless.
    await kube.create<StreamJob>(StreamJobs, {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'StreamJob',
      metadata: { name: 'chart-job', namespace: watchNs },
      spec: {
        replicas: 2,
        upgradeMode: 'stateless',
        savepoints: { onDelete: false },
        graph: {
          sources: [
            {
              name: 'clicks',
              datagen: {
                generator: 'schema',
                seed: 7,
                rate: 200,
                fields: { country: { type: 'string', values: ['de', 'fr', 'us'] }, ts: { type: 'timestamp' } },
              },
              timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
            },
          ],
          steps: [
            { name: 'by-country', from: 'clicks', keyBy: 'country' },
            { name: 'every-2s', from: 'by-country', window: { tumbling: { size: '2s' } } },
            { name: 'per-country', from: 'every-2s', aggregate: { clicks: 'count()' } },
          ],
          sinks: [{ name: 'out', from: 'per-country', console: {} }],
        },
      },
    } as unknown as StreamJob);

    const ds = await waitFor(
      'the DruidDatasource to be Synced',
      async () => {
        const d = await kube.get<DruidDatasource>(DruidDatasources, watchNs, 'chart-ds');
        const synced = (d.status?.conditions as Condition[] | undefined)?.find((x) => x.type === 'Synced');
        return synced?.status === 'True' ? d : undefined;
      },
      90_000,
      1_000,
    );
    const live = await druid.getSupervisor(ds.status?.supervisorId ?? dataSource);
    expect(live).toBeTruthy();
    console.log(`supervisor ${ds.status?.supervisorId} exists in Druid; DruidDatasource Synced`);

    const slots = await waitFor(
      '2 Running slot pods',
      async () => {
        const pods = (await kube.list<Pod>(Resources.Pod, watchNs, { labelSelector: 'tributary.dev/job=chart-job' }))
          .items;
        return pods.length === 2 && pods.every((p) => p.status?.phase === 'Running') ? pods : undefined;
      },
      120_000,
      1_000,
    );
    // The chart's default runtime image: the one `npm run image` builds (tag = the package version).
    const runtimeImage = imageName('runtime', packageVersion());
    expect(slots.map((p) => p.spec?.containers?.[0]?.image)).toEqual([runtimeImage, runtimeImage]);
    // Running = every slot ready and slot 0's control API reports the job RUNNING.
    await waitFor(
      'the StreamJob to be Running',
      async () => {
        const j = await kube.get<StreamJob>(StreamJobs, watchNs, 'chart-job');
        return j.status?.phase === 'Running' && !j.status.pendingOperation ? j : undefined;
      },
      120_000,
      1_000,
    );

    // The dashboard (on by default) on the operator pod's IP, the Service's `dashboard` port: the
    // job with its graph, its input rate and its Events (listed with the chart's RBAC). The API
    // server's service proxy cannot reach it here: no Service of this cluster has endpoints.
    const dashboard = `http://${pod.status?.podIP}:8081${DashboardPaths.job(watchNs, 'chart-job')}`;
    const shown = await waitFor(
      'the job on the dashboard, with a rate and its Events',
      async () => {
        const d = (await (await fetch(dashboard)).json()) as DashboardJobDetail;
        return d.events.length > 0 && (d.summary.inputRate ?? 0) > 0 && d;
      },
      30_000,
      1_000,
    );
    expect(shown.graph.nodes.map((n) => n.id)).toEqual(['clicks', 'by-country', 'every-2s', 'per-country', 'out']);
    expect(await canI('list', 'events', watchNs)).toBe(true);

    // Sufficient: nothing the operator did was refused.
    const log = join(
      clusterPaths(process.env.TRIBUTARY_CLUSTER_DIR).logs,
      'pods',
      `${relNs}_${operatorPod}_operator.log`,
    );
    expect(existsSync(log), log).toBe(true);
    const text = readFileSync(log, 'utf8');
    expect(text).not.toMatch(/\b403\b|forbidden/i);

    // Minimal: no reach outside the watched namespace, Lease only in the release namespace.
    expect(await canI('create', 'roles', watchNs)).toBe(true);
    expect(await canI('get', 'secrets', watchNs)).toBe(true);
    expect(await canI('get', 'secrets', otherNs)).toBe(false);
    // The autoscaler writes spec.replicas through the scale subresource.
    expect(await canI('patch', 'streamjobs.tributary.dev', watchNs, 'scale')).toBe(true);
    expect(await canI('patch', 'streamjobs.tributary.dev', otherNs, 'scale')).toBe(false);
    expect(await canI('list', 'streamjobs.tributary.dev')).toBe(false);
    expect(await canI('list', 'pods', relNs)).toBe(false);
    expect(await canI('update', 'leases.coordination.k8s.io', relNs)).toBe(true);
    expect(await canI('update', 'leases.coordination.k8s.io', watchNs)).toBe(false);
    expect(await canI('create', 'clusterroles')).toBe(false);
    expect(await canI('update', 'nodes')).toBe(false);
  }, 420_000);

  it('helm uninstall removes the operator and its RBAC; the CRDs stay', async () => {
    expect(operatorPod, 'the install test ran').not.toBe('');
    // Finalizers first, while the operator runs (the supervisor is terminated by it).
    await kube.delete(StreamJobs, watchNs, 'chart-job');
    await kube.delete(DruidDatasources, watchNs, 'chart-ds');
    await waitFor(
      'the operator to finalize both objects',
      async () => {
        const n =
          (await kube.list(StreamJobs, watchNs)).items.length +
          (await kube.list(DruidDatasources, watchNs)).items.length;
        return n === 0;
      },
      60_000,
      500,
    );
    await sh(helm, ['uninstall', release, '-n', relNs, '--wait', '--timeout', '90s']);
    await waitFor(
      'the operator pod to be gone',
      async () => {
        const pods = (
          await kube.list<Pod>(Resources.Pod, relNs, { labelSelector: `app.kubernetes.io/instance=${release}` })
        ).items;
        return pods.length === 0;
      },
      60_000,
      500,
    );
    const gone = async (rt: Parameters<KubeClient['get']>[0], ns: string, name: string) =>
      kube.get(rt, ns, name).then(
        () => false,
        () => true,
      );
    expect(await gone(ServiceAccounts, relNs, fullname)).toBe(true);
    expect(await canI('create', 'roles', watchNs)).toBe(false);
    for (const crd of ['streamjobs.tributary.dev', 'druiddatasources.tributary.dev']) {
      await kube.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd}`);
    }
  }, 180_000);
});
