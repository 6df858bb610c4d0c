// The operator's dashboard against the dev cluster: the StreamJob controller and the dashboard
// run in this process over the same Manager (one watched namespace), the job is the real runtime
// (datagen → filter → console, checkpoints on the local S3 server), and the API is read over
// HTTP as the page reads it: the job's graph, rates that move, checkpoint rows without
// credentials, its Events, then a `kubectl scale` in the rescale history (status.rescales) and a
// SIGKILLed slot in the exceptions and the restart count; then the page in headless Chromium
// (screenshot: docs/images/dashboard-operator-job.png); deleted, its history is dropped. A
// job in a namespace the operator does not watch is never listed nor served.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium } from '../../../test/harness/chromium.ts';
import { Manager, Resources, type KubeClient } from '../kube/index.ts';
import { applyRepoCrd, newClient, suffix, waitFor } from '../kube/testing/cluster.ts';
import { createRegistry } from '../telemetry/metrics.ts';
import type { StateStorage, StreamJob } from '../api/v1alpha1/streamjob.ts';
import { deletePrefixAfterNamespace, s3StateStorage } from '../../../test/harness/s3-state-storage.ts';
import { addStreamJobController, streamJobInformers } from '../controllers/streamjob/controller.ts';
import { StreamJobs } from '../controllers/streamjob/resource.ts';
import { kubectl } from '../controllers/streamjob/testing/kubectl.ts';
import { killSlotProcess } from '../controllers/streamjob/testing/kill-slot.ts';
import type { Pod } from '../controllers/streamjob/objects/slot-pod.ts';
import { RuntimeClient } from '../runtime-client/client.ts';
import { DEFAULT_RUNTIME_IMAGE } from '../version.ts';
import { startDashboardServer, type DashboardServer } from '../../../runtime/src/dashboard/dashboard-server.ts';
import type { DashboardJobDetail, DashboardJobs } from '../../../runtime/src/dashboard/model.ts';
import { DashboardPaths } from '../../../runtime/src/dashboard/model.ts';
import { OperatorDashboard } from './operator-dashboard.ts';

const images = resolve(import.meta.dirname, '../../../docs/images');

const job = (name: string, namespace: string, stateStorage: StateStorage): StreamJob =>
  ({
    apiVersion: 'tributary.dev/v1alpha1',
    kind: 'StreamJob',
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      upgradeMode: 'stateless',
      stateStorage,
      checkpointing: { interval: '1s' },
      graph: {
        sources: [
          {
            name: 'gen',
            datagen: { generator: 'schema', rate: 200, fields: { n: { type: 'int', min: 0, max: 99 } } },
          },
        ],
        steps: [{ name: 'small', from: 'gen', filter: 'n < 50' }],
        sinks: [{ name: 'out', from: 'small', console: {} }],
      },
    },
  }) as unknown as StreamJob;

describe('the operator dashboard on the dev cluster', () => {
  let kube: KubeClient;
  let mgr: Manager;
  let running: Promise<void>;
  let closeController: () => Promise<void>;
  let dashboard: OperatorDashboard;
  let server: DashboardServer;
  let runtime: RuntimeClient;
  let stateStorage: StateStorage & { s3: { prefix?: string } };
  const id = suffix();
  const watched = `dbw-${id}`;
  const unwatched = `dbu-${id}`;

  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${server.url}${path}`);
    return { status: res.status, body: (await res.json()) as T };
  };

  beforeAll(async () => {
    mkdirSync(images, { recursive: true });
    kube = await newClient();
    await applyRepoCrd(kube, 'streamjobs.tributary.dev');
    for (const name of [watched, unwatched])
      await kube.create(Resources.Namespace, { metadata: { name, labels: { 'tributary.dev/test': 'dashboard' } } });
    stateStorage = await s3StateStorage(kube, watched, 'dashboard');
    mgr = new Manager({ client: kube, registry: createRegistry(), shutdownTimeoutMs: 2_000 });
    ({ close: closeController } = addStreamJobController(mgr, {
      namespace: watched,
      defaultImage: DEFAULT_RUNTIME_IMAGE,
    }));
    runtime = new RuntimeClient({ timeoutMs: 1_000 });
    dashboard = new OperatorDashboard({
      scopes: [streamJobInformers(mgr, watched)],
      client: kube,
      runtime,
      intervalMs: 1_000,
    });
    dashboard.start();
    server = await startDashboardServer({ source: dashboard, host: '127.0.0.1', port: 0 });
    running = mgr.run();
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await dashboard?.stop();
    mgr?.stop();
    await running?.catch(() => undefined);
    await closeController?.();
    await runtime?.close();
    for (const ns of [watched, unwatched]) {
      for (const j of (await kube.list<StreamJob>(StreamJobs, ns).catch(() => ({ items: [] }))).items)
        await kube.patch(StreamJobs, ns, j.metadata.name, { metadata: { finalizers: null } }).catch(() => undefined);
      await kube.delete(Resources.Namespace, undefined, ns).catch(() => undefined);
    }
    if (stateStorage?.s3.prefix)
      await deletePrefixAfterNamespace(kube, watched, stateStorage.s3.prefix).catch(() => undefined);
  });

  it('lists and serves the watched job: graph, moving rates, checkpoints, Events; then its rescale and a crash', async () => {
    // A CRD the checkout changed is served again a moment after applyRepoCrd (404 until then).
    for (const [name, ns] of [
      ['clicks', watched],
      ['hidden', unwatched],
    ] as const)
      await waitFor(
        `StreamJob ${ns}/${name} created`,
        () => kube.create(StreamJobs, job(name, ns, stateStorage)),
        15_000,
        200,
      );

    // Rates need two samples of running slots; a checkpoint completes every second.
    const detailPath = DashboardPaths.job(watched, 'clicks');
    const first = await waitFor(
      'a running job with an input rate and a checkpoint',
      async () => {
        const d = (await get<DashboardJobDetail>(detailPath)).body;
        return (d.summary.inputRate ?? 0) > 0 && d.checkpoints.length > 0 && d;
      },
      60_000,
      500,
    );
    expect(first.summary).toMatchObject({
      namespace: watched,
      name: 'clicks',
      phase: 'Running',
      ready: { status: 'True', reason: 'Running' },
      replicas: 1,
      restarts: 0,
      url: `/jobs/${watched}/clicks`,
    });
    expect(first.graph.nodes.map((n) => [n.id, n.role, n.kind])).toEqual([
      ['gen', 'source', 'datagen'],
      ['small', 'step', 'filter'],
      ['out', 'sink', 'console'],
    ]);
    expect(first.graph.edges).toEqual([
      { from: 'gen', to: 'small', exchange: 'forward' },
      { from: 'small', to: 'out', exchange: 'forward' },
    ]);
    const cp = first.checkpoints.find((c) => c.kind === 'checkpoint')!;
    expect(cp.path).toMatch(/chk-\d+/);
    expect(cp.path).not.toContain('@');
    expect(first.series.intervalSeconds).toBe(1);

    // The series grows and the rates keep moving (datagen at 200/s, half of it passes the filter).
    const later = await waitFor(
      'more points with rates',
      async () => {
        const d = (await get<DashboardJobDetail>(detailPath)).body;
        return d.series.t.length >= first.series.t.length + 2 && (d.summary.outputRate ?? 0) > 0 && d;
      },
      20_000,
      500,
    );
    expect(later.series.inputRate.filter((r) => r !== null && r > 0).length).toBeGreaterThanOrEqual(2);
    expect(later.series.t.at(-1)!).toBeGreaterThan(first.series.t.at(-1)!);

    // The job's Events (listed at most every 5 s: the first answer may predate them).
    const withEvents = await waitFor(
      'the Events of the deployment',
      async () => {
        const d = (await get<DashboardJobDetail>(detailPath)).body;
        return d.events.some((e) => e.reason === 'DeployStarted') && d;
      },
      15_000,
      500,
    );
    expect(withEvents.events.find((e) => e.reason === 'DeployStarted')).toMatchObject({ type: 'Normal', count: 1 });

    // Namespace scoping: the job in the unwatched namespace is neither listed nor served.
    const list = (await get<DashboardJobs>('/api/v1/jobs')).body;
    expect(list.jobs.map((j) => `${j.namespace}/${j.name}`)).toEqual([`${watched}/clicks`]);
    expect((await get<unknown>(DashboardPaths.job(unwatched, 'hidden'))).status).toBe(404);

    // A rescale by kubectl scale shows in the history once its pods run.
    const scaled = kubectl(['scale', '-n', watched, 'streamjob/clicks', '--replicas=2']);
    expect(scaled.status, scaled.stderr).toBe(0);
    const rescaled = await waitFor(
      'the rescale completed in the history',
      async () => {
        const d = (await get<DashboardJobDetail>(detailPath)).body;
        return d.rescales[0]?.completedAt !== undefined && d;
      },
      60_000,
      500,
    );
    expect(rescaled.rescales).toEqual([expect.objectContaining({ from: 1, to: 2, cause: 'user', mode: 'stateless' })]);
    expect(rescaled.summary.replicas).toBe(2);

    // A crashed slot (SIGKILL): its exception and the job's restart show.
    const pod = (await kube.list<Pod>(Resources.Pod, watched, { labelSelector: 'tributary.dev/slot=1' })).items.find(
      (p) => p.status?.phase === 'Running',
    )!;
    killSlotProcess(pod.metadata!.name!);
    const crashed = await waitFor(
      'the slot exception and the restart',
      async () => {
        const d = (await get<DashboardJobDetail>(detailPath)).body;
        return d.summary.restarts >= 1 && d.exceptions.some((e) => e.slot === 1) && d;
      },
      60_000,
      500,
    );
    expect(crashed.exceptions.find((e) => e.slot === 1)!.message).toMatch(/^slot 1 (ended|reports FAILED)/);

    // The page in Chromium: the job's DAG, its rescale and its exception, as a user sees them
    // once it runs again (the screenshot shows a job that lived through both).
    await waitFor(
      'the job running again, its rates back',
      async () => {
        const d = (await get<DashboardJobDetail>(detailPath)).body;
        return (
          d.summary.ready?.status === 'True' &&
          d.summary.inputRate !== undefined &&
          d.graph.nodes.every((n) => n.role === 'source' || n.inRate !== undefined)
        );
      },
      45_000,
      500,
    );
    const browser = await chromium.launch({ executablePath: await ensureChromium(), args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await page.goto(`${server.url}${DashboardPaths.jobPage(watched, 'clicks')}`);
      await page.locator('#dag g[data-node]').first().waitFor();
      const drawn = await page
        .locator('#dag g[data-node]')
        .evaluateAll((gs) => gs.map((g) => g.getAttribute('data-node')));
      expect(drawn.sort()).toEqual(['gen', 'out', 'small']);
      await expect.poll(() => page.locator('#rescales tbody').innerText(), { timeout: 10_000 }).toMatch(/1\s+2\s+user/);
      await expect.poll(() => page.locator('#exceptions tbody').innerText(), { timeout: 10_000 }).toContain('slot 1');
      await page.screenshot({ path: join(images, 'dashboard-operator-job.png'), fullPage: true });
      expect(pageErrors).toEqual([]);
    } finally {
      await browser.close();
    }

    // Deleted: its history is dropped (the memory bound) and its page is gone.
    expect(dashboard.historyCount).toBe(1);
    await kube.delete(StreamJobs, watched, 'clicks');
    await waitFor('the history dropped', () => dashboard.historyCount === 0, 60_000, 500);
    expect((await get<unknown>(detailPath)).status).toBe(404);
  }, 150_000);
});
