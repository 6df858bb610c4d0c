// `helm upgrade` from the previous chart on the real local cluster, with a running job.
// The previous chart is test/chart/testdata/tributary-0.0.9.tgz (its README says how it was
// made): today's templates with the StreamJob CRD of before kudu connectors and
// spec.initialState existed, so its schema refuses a kudu sink (the one-connector rule) and
// prunes initialState. The steps:
//   1. install 0.0.9; the cluster serves the old schema (checked, with a dry-run create);
//   2. a StreamJob runs on the real runtime (datagen → 1 s windows → console, two slots,
//      checkpoints and savepoints on the local S3 server);
//   3. helm upgrade to charts/tributary: the stored CRD has the new schema and a StreamJob
//      using it is accepted; the operator Deployment rolled to a new pod that took the Lease;
//      the new operator takes a savepoint (spec.savepointNonce) and leaves the job exactly as
//      it was: same deployment, same pods (UIDs), no restart; output keeps flowing. That is
//      what an operator does on its own upgrade: it reads status.deployed and compares the
//      spec hash (spec + its defaults: runtime image, state storage; both unchanged here),
//      so it starts nothing for a job whose hash is unchanged;
//   4. helm upgrade with another runtimeImage.tag (what a new appVersion does): the hash
//      changed, so the job is upgraded by its upgradeMode: a savepoint, new pods of the new
//      image restoring it, and nothing else (events);
//   5. helm uninstall with the job still there: the CRDs (crds.keep), the StreamJob with its
//      savepoint history, both savepoints' objects in S3 and the running slot pods stay.
// The CRDs are shared with other tests (integration files run one at a time in a suite run):
// the release adopts them, step 1 gives them the old schema for the minute until step 3,
// and afterAll gives them crds/' schema again whatever happened. Uninstalling a release whose
// CRDs lack the keep policy would delete every StreamJob in the cluster, so the test checks
// the release's manifest first and stops there instead.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamJob, StreamJobSpec } from '../../operator/src/api/v1alpha1/streamjob.ts';
import { StreamJobs } from '../../operator/src/controllers/streamjob/resource.ts';
import type { Pod } from '../../operator/src/controllers/streamjob/objects/slot-pod.ts';
import { Resources, type KubeClient, type KubeObject } from '../../operator/src/kube/index.ts';
import { newClient, suffix, waitFor } from '../../operator/src/kube/testing/cluster.ts';
import { imageName, packageVersion } from '../../image/build.ts';
import { localImageRef, run, storeFlags } from '../../image/store.ts';
import { ensureHelm } from '../cluster/components/helm.ts';
import { clusterPaths, repoRoot } from '../cluster/paths.ts';
import { deletePrefixAfterNamespace, keyOf, listKeys, s3StateStorage } from '../harness/s3-state-storage.ts';
import {
  CRD_NAMES,
  KEEP,
  putAsRelease,
  releaseCrds,
  renderedCrds,
  restoreRepoCrds,
  sh,
  streamJobSpecSchema,
  type Crd,
} from './release-crds.ts';

const oldChart = join(repoRoot, 'test/chart/testdata/tributary-0.0.9.tgz');
const chart = join(repoRoot, 'charts/tributary');
const id = suffix();
const release = `up-${id}`;
const relNs = `helmup-rel-${id}`;
const watchNs = `helmup-w-${id}`;
const fullname = `${release}-tributary`;
const job = 'upjob';
const Deployments = { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true };
const Webhooks = {
  group: 'admissionregistration.k8s.io',
  version: 'v1',
  plural: 'validatingwebhookconfigurations',
  kind: 'ValidatingWebhookConfiguration',
  namespaced: false,
};
interface Lease extends KubeObject {
  spec?: { holderIdentity?: string };
}
const ready = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** The job's slot pods as name → uid, and their log files' `out> ` lines (console sink output). */
async function slots(kube: KubeClient): Promise<{ pods: Pod[]; byName: Record<string, string>; lines: number }> {
  const pods = (await kube.list<Pod>(Resources.Pod, watchNs, { labelSelector: `tributary.dev/job=${job}` })).items;
  const logs = join(clusterPaths(process.env.TRIBUTARY_CLUSTER_DIR).logs, 'pods');
  let lines = 0;
  for (const p of pods) {
    const text = readFileSync(join(logs, `${watchNs}_${p.metadata?.name}_runtime.log`), 'utf8');
    lines += text.split('\n').filter((l) => l.startsWith('out> ')).length;
  }
  const byName = Object.fromEntries(pods.map((p) => [p.metadata?.name ?? '', p.metadata?.uid ?? '']));
  return { pods, byName, lines };
}

/** The runtime image under another tag (container mode only: process mode maps every tag to the checkout). */
async function tagRuntimeImage(tag: string): Promise<void> {
  if (process.env['TRIBUTARY_NODE_AGENT_RUNTIME'] !== 'podman') return;
  const built = localImageRef(imageName('runtime', packageVersion()));
  const r = await run(['podman', ...storeFlags(), 'tag', built, localImageRef(`tributary/runtime:${tag}`)]);
  if (r.code !== 0) throw new Error(`podman tag ${built} → tributary/runtime:${tag} exited ${r.code}: ${r.stderr}`);
}

describe('helm upgrade from the previous chart (CRD schema change) with a running job; uninstall', () => {
  let helm: string;
  let kube: KubeClient;
  let valuesFile = '';
  let prefix = '';
  let spec: StreamJobSpec;
  let before: { byName: Record<string, string>; deployed: string; counter?: number; restarts?: number };
  let oldOperator = '';
  let oldHolder = '';
  /** The job's savepoints (status path, objects in S3), and its slot pods (name → uid) now. */
  const savepoints: { path: string; keys: string[] }[] = [];
  let current: Record<string, string> = {};

  /** A StreamJob using the new schema (a kudu sink, initialState), created with dry-run=server. */
  const dryRunNewFields = () =>
    kube.request<StreamJob>('POST', `/apis/tributary.dev/v1alpha1/namespaces/${watchNs}/streamjobs`, {
      query: { dryRun: 'All' },
      body: {
        apiVersion: 'tributary.dev/v1alpha1',
        kind: 'StreamJob',
        metadata: { name: 'uses-new-fields', namespace: watchNs },
        spec: {
          ...spec,
          initialState: 'empty',
          graph: {
            ...spec.graph,
            sinks: [
              {
                name: 'out',
                from: 'per-country',
                kudu: { masters: 'kudu-master.example:7051', table: `helmup_${id}` },
              },
            ],
          },
        },
      },
    });

  const operatorPods = async () =>
    (await kube.list<Pod>(Resources.Pod, relNs, { labelSelector: `app.kubernetes.io/instance=${release}` })).items;

  beforeAll(async () => {
    if (!process.env.KUBECONFIG)
      throw new Error('helm upgrade test: KUBECONFIG not set (the integration setup sets it)');
    helm = await ensureHelm();
    kube = await newClient();
    const labels = { 'tributary.dev/test': 'helm-upgrade' };
    await kube.create(Resources.Namespace, {
      metadata: { name: relNs, labels: { ...labels, 'pod-security.kubernetes.io/enforce': 'restricted' } },
    });
    await kube.create(Resources.Namespace, { metadata: { name: watchNs, labels } });
    const stateStorage = await s3StateStorage(kube, watchNs, 'helmup');
    prefix = stateStorage.s3.prefix ?? '';
    spec = {
      replicas: 2,
      upgradeMode: 'savepoint',
      checkpointing: { interval: '1s' },
      stateStorage,
      graph: {
        sources: [
          {
            name: 'clicks',
            datagen: {
              generator: 'schema',
              seed: 7,
              rate: 100,
              fields: { country: { type: 'string', values: ['de', 'fr', 'us'] }, ts: { type: 'timestamp' } },
            },
            timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
          },
        ],
        steps: [
          { name: 'by-country', from: 'clicks', keyBy: 'country' },
          { name: 'every-1s', from: 'by-country', window: { tumbling: { size: '1s' } } },
          { name: 'per-country', from: 'every-1s', aggregate: { clicks: 'count()' } },
        ],
        sinks: [{ name: 'out', from: 'per-country', console: { prefix: true } }],
      },
    } as unknown as StreamJobSpec;
    // The same values for both charts: the runtime image (the jobs' default) stays the same.
    valuesFile = join(mkdtempSync(join(tmpdir(), 'helm-upgrade-test-')), 'values.json');
    writeFileSync(
      valuesFile,
      JSON.stringify({
        // The images `npm run image` built (the old chart's appVersion, 0.0.9, names none that exists).
        image: { tag: packageVersion() },
        runtimeImage: { tag: packageVersion() },
        watchNamespaces: [watchNs],
        druid: { enabled: false },
      }),
    );
  }, 1_800_000);

  afterAll(async () => {
    if (!kube) return;
    const installed = await sh(helm, ['status', release, '-n', relNs]).then(
      () => true,
      () => false,
    );
    if (installed) {
      const keeps = (await releaseCrds(helm, release, relNs).catch(() => [])).every(
        (c) => c.metadata?.annotations?.[KEEP] === 'keep',
      );
      if (keeps) await sh(helm, ['uninstall', release, '-n', relNs, '--wait', '--timeout', '60s']).catch(() => {});
      else {
        // Never let Helm delete the shared CRDs: drop the release by its namespace instead.
        for (const w of (
          await kube.list(Webhooks, undefined, { labelSelector: `app.kubernetes.io/instance=${release}` })
        ).items)
          await kube.delete(Webhooks, undefined, w.metadata?.name ?? '').catch(() => {});
      }
    }
    await kube.patch(StreamJobs, watchNs, job, { metadata: { finalizers: null } }).catch(() => {});
    await kube.delete(StreamJobs, watchNs, job).catch(() => {});
    for (const ns of [watchNs, relNs]) await kube.delete(Resources.Namespace, undefined, ns).catch(() => {});
    await restoreRepoCrds(kube, release);
    if (prefix) await deletePrefixAfterNamespace(kube, watchNs, prefix).catch(() => {});
  }, 240_000);

  it('helm install of chart 0.0.9: the cluster serves its StreamJob schema (no kudu sink, no initialState)', async () => {
    // The CRDs as a 0.0.9 release creates them (on a cluster of its own, helm install would).
    for (const crd of await renderedCrds(helm, oldChart, release, relNs, valuesFile))
      await putAsRelease(kube, crd, release, relNs);
    await sh(helm, ['install', release, oldChart, '-n', relNs, '-f', valuesFile]);
    const list = JSON.parse(await sh(helm, ['list', '-n', relNs, '-o', 'json'])) as { chart: string }[];
    expect(list.map((r) => r.chart)).toEqual(['tributary-0.0.9']);

    const stored = await kube.get<Crd>(Resources.CustomResourceDefinition, undefined, 'streamjobs.tributary.dev');
    const old = streamJobSpecSchema(stored);
    expect(Object.keys(old.properties ?? {})).not.toContain('initialState');
    expect(Object.keys(old.properties?.['graph']?.properties?.['sinks']?.items?.properties ?? {})).not.toContain(
      'kudu',
    );
    // Served, not just stored: the old schema prunes the kudu connector and its one-connector rule refuses the sink.
    await expect(dryRunNewFields()).rejects.toThrow(
      /a sink takes exactly one connector \(kafka, console, file or druid\)/,
    );

    const pod = await waitFor(
      'the 0.0.9 operator pod to be Ready',
      async () => (await operatorPods()).find(ready),
      90_000,
      500,
    );
    oldOperator = pod.metadata?.name ?? '';
    expect(pod.metadata?.labels?.['helm.sh/chart']).toBe('tributary-0.0.9');
    oldHolder = await waitFor(
      'the 0.0.9 operator to hold the Lease',
      async () => (await kube.get<Lease>(Resources.Lease, relNs, fullname)).spec?.holderIdentity,
      60_000,
      500,
    );
  }, 180_000);

  it('a StreamJob runs under chart 0.0.9 (real runtime, state on S3), with output', async () => {
    expect(oldOperator, 'the install test ran').not.toBe('');
    await kube.create<StreamJob>(StreamJobs, {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'StreamJob',
      metadata: { name: job, namespace: watchNs },
      spec,
    } as StreamJob);
    const running = await waitFor(
      'the StreamJob to be Running',
      async () => {
        const j = await kube.get<StreamJob>(StreamJobs, watchNs, job);
        return j.status?.phase === 'Running' && !j.status.pendingOperation && j.status.lastCheckpoint ? j : undefined;
      },
      180_000,
      1_000,
    );
    const s = await waitFor(
      'output lines from the slots',
      async () => {
        const x = await slots(kube);
        return x.lines > 0 ? x : undefined;
      },
      30_000,
      500,
    );
    expect(Object.keys(s.byName).length).toBe(2);
    before = {
      byName: s.byName,
      deployed: running.status?.deployed?.id ?? '',
      counter: running.status?.deploymentCounter,
      restarts: running.status?.restarts,
    };
    expect(before.deployed).not.toBe('');
  }, 240_000);

  it('helm upgrade to the current chart: new CRD schema, operator rolled, the job untouched and its savepoint taken', async () => {
    expect(before, 'the job test ran').toBeDefined();
    await sh(helm, ['upgrade', release, chart, '-n', relNs, '-f', valuesFile]);

    // The stored CRD has today's schema (Helm applied the template), kept by policy, labelled 0.1.0.
    const stored = await kube.get<Crd>(Resources.CustomResourceDefinition, undefined, 'streamjobs.tributary.dev');
    const now = streamJobSpecSchema(stored);
    expect(Object.keys(now.properties ?? {})).toContain('initialState');
    expect(Object.keys(now.properties?.['graph']?.properties?.['sinks']?.items?.properties ?? {})).toContain('kudu');
    expect(stored.metadata?.labels?.['helm.sh/chart']).toBe('tributary-0.1.0');
    expect(stored.metadata?.annotations?.[KEEP]).toBe('keep');

    // The operator Deployment rolled: one new pod of chart 0.1.0, Ready and leading; the old one gone.
    const pod = await waitFor(
      'the operator Deployment to roll to chart 0.1.0',
      async () => {
        const pods = await operatorPods();
        const p = pods[0];
        return pods.length === 1 && p && p.metadata?.name !== oldOperator && ready(p) ? p : undefined;
      },
      120_000,
      500,
    );
    expect(pod.metadata?.labels?.['helm.sh/chart']).toBe('tributary-0.1.0');
    const d = await kube.get<KubeObject & { status?: { updatedReplicas?: number } }>(Deployments, relNs, fullname);
    expect(d.status?.updatedReplicas).toBe(1);
    await waitFor(
      'the new operator to hold the Lease (the old one, gone, held it)',
      async () => {
        const holder = (await kube.get<Lease>(Resources.Lease, relNs, fullname)).spec?.holderIdentity;
        return holder !== undefined && holder !== '' && holder !== oldHolder;
      },
      60_000,
      500,
    );

    // A StreamJob using the new fields is accepted as it is (initialState not pruned).
    const accepted = await dryRunNewFields();
    expect(accepted.spec.initialState).toBe('empty');
    expect(Object.keys(accepted.spec.graph?.sinks[0] ?? {})).toContain('kudu');

    // The new operator acts on the job (a manual savepoint, which keeps it running)...
    const linesBefore = (await slots(kube)).lines;
    await kube.patch(StreamJobs, watchNs, job, { spec: { savepointNonce: 1 } });
    const after = await waitFor(
      'the savepoint of savepointNonce 1',
      async () => {
        const j = await kube.get<StreamJob>(StreamJobs, watchNs, job);
        return j.status?.savepointNonce === 1 && !j.status.pendingOperation ? j : undefined;
      },
      120_000,
      500,
    );
    // ...and leaves it as it was: same deployment, same pods, no restart. The savepoint was
    // its only operation since the first deployment (each operation takes a counter value).
    expect(after.status?.phase).toBe('Running');
    expect(after.status?.deployed?.id).toBe(before.deployed);
    expect(after.status?.deploymentCounter).toBe((before.counter ?? 0) + 1);
    expect(after.status?.restarts).toBe(before.restarts);
    const events = (
      await kube.list<KubeObject & { reason?: string }>(Resources.Event, watchNs, {
        fieldSelector: `involvedObject.name=${job}`,
      })
    ).items;
    expect(
      events
        .map((e) => e.reason)
        .filter((r) => r?.endsWith('Started'))
        .sort(),
    ).toEqual(['DeployStarted', 'SavepointStarted']);
    const s = await slots(kube);
    expect(s.byName).toEqual(before.byName);
    expect(s.pods.every((p) => p.status?.phase === 'Running' && ready(p))).toBe(true);
    // Output keeps flowing.
    await waitFor(
      'output after the upgrade',
      async () => (await slots(kube)).lines > Math.max(linesBefore, s.lines),
      30_000,
      500,
    );

    const manual = (after.status?.savepoints ?? []).filter((x) => x.reason === 'manual');
    expect(manual.length).toBe(1);
    savepoints.push({ path: manual[0]!.path, keys: await listKeys(keyOf(manual[0]!.path)) });
    expect(savepoints[0]!.keys.length).toBeGreaterThan(0);
    current = s.byName;
  }, 300_000);

  it("helm upgrade that changes the jobs' default runtime image (as a new appVersion does): the job is upgraded through a savepoint", async () => {
    expect(savepoints.length, 'the upgrade test ran').toBe(1);
    const prev = await kube.get<StreamJob>(StreamJobs, watchNs, job);
    // In container mode the pods need that image in the store: the same build under the new tag.
    await tagRuntimeImage('next');
    await sh(helm, ['upgrade', release, chart, '-n', relNs, '-f', valuesFile, '--set', 'runtimeImage.tag=next']);
    const upgraded = await waitFor(
      'the job to run a new deployment',
      async () => {
        const j = await kube.get<StreamJob>(StreamJobs, watchNs, job);
        const moved = j.status?.deployed?.id !== prev.status?.deployed?.id;
        return moved && j.status?.phase === 'Running' && !j.status.pendingOperation ? j : undefined;
      },
      180_000,
      500,
    );
    const events = (
      await kube.list<KubeObject & { reason?: string }>(Resources.Event, watchNs, {
        fieldSelector: `involvedObject.name=${job}`,
      })
    ).items;
    expect(
      events
        .map((e) => e.reason)
        .filter((r) => r?.endsWith('Started'))
        .sort(),
    ).toEqual(['DeployStarted', 'SavepointStarted', 'UpgradeStarted']);
    // Stop-with-savepoint, and the new pods restored that savepoint.
    const restored = upgraded.status?.deployed?.restoredFrom ?? '';
    expect((upgraded.status?.savepoints ?? []).map((x) => x.path)).toContain(restored);
    expect(restored).not.toBe(savepoints[0]!.path);
    const s = await waitFor(
      'output from the new pods',
      async () => {
        const x = await slots(kube);
        return x.lines > 0 ? x : undefined;
      },
      30_000,
      500,
    );
    expect(Object.keys(s.byName).filter((n) => n in current)).toEqual([]);
    expect(s.pods.map((p) => (p.spec?.['containers'] as { image?: string }[] | undefined)?.[0]?.image)).toEqual([
      'tributary/runtime:next',
      'tributary/runtime:next',
    ]);
    savepoints.push({ path: restored, keys: await listKeys(keyOf(restored)) });
    expect(savepoints[1]!.keys.length).toBeGreaterThan(0);
    current = s.byName;
  }, 300_000);

  it('helm uninstall: the CRDs, the StreamJob with its savepoints, the savepoint in S3 and the slot pods stay', async () => {
    expect(savepoints.length, 'the upgrade tests ran').toBe(2);
    // Uninstall acts on the stored manifest: without the keep policy it would delete the CRDs
    // and every StreamJob of the cluster, so stop here instead.
    const crds = await releaseCrds(helm, release, relNs);
    expect(crds.map((c) => c.metadata?.name).sort()).toEqual([...CRD_NAMES].sort());
    for (const c of crds) expect(c.metadata?.annotations?.[KEEP], `${c.metadata?.name} in the release`).toBe('keep');

    await sh(helm, ['uninstall', release, '-n', relNs, '--wait', '--timeout', '90s']);
    await waitFor('the operator pod to be gone', async () => (await operatorPods()).length === 0, 60_000, 500);
    await expect(kube.get(Deployments, relNs, fullname)).rejects.toThrow();

    for (const name of CRD_NAMES) {
      const c = await kube.get<Crd>(Resources.CustomResourceDefinition, undefined, name);
      expect(c.metadata?.deletionTimestamp, name).toBeUndefined();
    }
    const j = await kube.get<StreamJob>(StreamJobs, watchNs, job);
    expect(j.metadata?.deletionTimestamp).toBeUndefined();
    for (const sp of savepoints) {
      expect((j.status?.savepoints ?? []).map((x) => x.path)).toContain(sp.path);
      expect(await listKeys(keyOf(sp.path))).toEqual(sp.keys);
    }
    const s = await slots(kube);
    expect(s.byName).toEqual(current);
    expect(s.pods.every((p) => p.status?.phase === 'Running')).toBe(true);
  }, 180_000);
});
