// StreamJob controller on the real kube-apiserver + controller-manager (GC) + node agent,
// in a namespace that enforces Pod Security "restricted". Slot pods run the TEST-ONLY
// stand-in runtime (testing/fake-runtime.ts, image tributary/node:*) because these tests
// inject faults the real runtime cannot produce on demand: savepoint failure, slot 0
// unreachable, a slot crash, and operator kills at chosen write-ahead steps. "An invalid spec
// leaves the last valid deployment running" needs no fault: invalid-spec-e2e.int.test.ts
// proves it with the real runtime (the old deployment's output goes on).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Manager, Resources, type KubeClient } from '../../kube/index.ts';
import { applyRepoCrd, newClient, suffix, waitFor } from '../../kube/testing/cluster.ts';
import { createRegistry } from '../../telemetry/metrics.ts';
import { createLogger } from '../../telemetry/logger.ts';
import type { StreamJob, StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';
import { repoRoot } from '../../../../test/cluster/paths.ts';
import { addStreamJobController } from './controller.ts';
import { StreamJobs } from './resource.ts';
import { DEPLOYMENT_LABEL } from './objects/metadata.ts';
import type { Pod } from './objects/slot-pod.ts';

const fake = join(repoRoot, 'operator/src/controllers/streamjob/testing/fake-runtime.ts');
const clusterDir = process.env.TRIBUTARY_CLUSTER_DIR ?? join(process.env.HOME ?? '/root', '.cache/tributary/cluster');
const kubectl = (args: string[], input?: string) =>
  spawnSync('kubectl', args, { encoding: 'utf8', env: process.env, input, timeout: 60_000 });
const kubectlAsync = (args: string[]) =>
  new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const p = spawn('kubectl', args, { env: process.env });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stderr }));
  });
type Event = { reason: string; message: string; involvedObject: { name: string } };

const graph = {
  sources: [
    {
      name: 'gen',
      datagen: { generator: 'schema', rate: 10, fields: { country: { type: 'string', values: ['de', 'fr'] } } },
    },
  ],
  sinks: [{ name: 'out', from: 'gen', console: {} }],
} as unknown as StreamJobSpec['graph'];

describe('StreamJob controller (real apiserver, node agent, stand-in runtime)', () => {
  let kube: KubeClient;
  let ns: string;
  let mgr: Manager | undefined;
  let running: Promise<void> | undefined;
  let close: (() => Promise<void>) | undefined;
  let killAt: string | undefined;
  let killedAt: string | undefined;

  const startOperator = () => {
    const m = new Manager({
      client: kube,
      registry: createRegistry(),
      shutdownTimeoutMs: 2_000,
      ...(process.env.SJ_LOG ? { logger: createLogger() } : {}),
    });
    const added = addStreamJobController(m, {
      namespace: ns,
      defaultImage: 'tributary/node:test',
      containerArgs: [fake],
      afterWrite: (job, step) => {
        if (killAt && step === killAt && job.metadata.name.startsWith('kill')) {
          killedAt = step;
          killAt = undefined;
          m.stop();
          throw new Error(`operator killed after writing ${step}`);
        }
      },
    });
    mgr = m;
    close = added.close;
    running = m.run().catch(() => undefined);
  };
  const stopOperator = async () => {
    mgr?.stop();
    await running;
    await close?.();
    mgr = undefined;
  };

  beforeAll(async () => {
    kube = await newClient();
    await applyRepoCrd(kube, 'streamjobs.tributary.dev');
    await waitFor('the CRD', async () => (await kube.list(StreamJobs), true), 30_000, 250);
    ns = `sj-${suffix()}`;
    await kube.create(Resources.Namespace, {
      metadata: {
        name: ns,
        labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'tributary.dev/test': 'streamjob' },
      },
    });
    startOperator();
  }, 60_000);

  afterAll(async () => {
    await stopOperator();
    // with the operator gone, the final-savepoint finalizers would hold the namespace
    if (ns)
      for (const j of (await kube.list<StreamJob>(StreamJobs, ns)).items)
        await kube.patch(StreamJobs, ns, j.metadata.name, { metadata: { finalizers: null } }).catch(() => undefined);
    if (ns && !process.env.SJ_KEEP) await kube.delete(Resources.Namespace, undefined, ns).catch(() => undefined);
  });

  const stateDir = (claim: string) => join(clusterDir, 'node/pvcs', ns, claim);
  const setFault = (claim: string, fault: Record<string, unknown>) => {
    mkdirSync(stateDir(claim), { recursive: true });
    writeFileSync(join(stateDir(claim), 'fake-control.json'), JSON.stringify(fault));
  };
  const make = (name: string, spec: Partial<StreamJobSpec> = {}) =>
    kube.create<StreamJob>(StreamJobs, {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'StreamJob',
      metadata: { name, namespace: ns },
      spec: {
        replicas: 2,
        graph,
        stateStorage: { pvc: { claimName: name }, path: '/state' },
        checkpointing: { interval: '1s' },
        restartPolicy: { backoff: { initial: '1s', max: '4s' } },
        ...spec,
      },
    } as unknown as StreamJob);
  const get = (name: string) => kube.get<StreamJob>(StreamJobs, ns, name);
  const pods = async (name: string) =>
    (await kube.list<Pod>(Resources.Pod, ns, { labelSelector: `tributary.dev/job=${name}` })).items;
  const events = async (name: string): Promise<Event[]> =>
    (await kube.list<Event & { metadata: object }>(Resources.Event, ns)).items.filter(
      (e) => e.involvedObject.name === name,
    );
  const cond = (j: StreamJob, type: string) => j.status?.conditions?.find((c) => c.type === type);
  const runningJob = (name: string, replicas: number, timeout = 60_000) =>
    waitFor(
      `${name} Running with ${replicas}`,
      async () => {
        const j = await get(name);
        return j.status?.phase === 'Running' &&
          !j.status.pendingOperation &&
          j.status.deployed?.parallelism === replicas &&
          cond(j, 'Ready')?.status === 'True'
          ? j
          : undefined;
      },
      timeout,
      250,
    );
  const slotStatus = async (pod: Pod) => {
    const s = await kube.get<{ data: Record<string, string>; metadata?: object }>(
      Resources.Secret,
      ns,
      `${pod.metadata!.labels!['tributary.dev/job']}-control-token`,
    );
    const token = Buffer.from(s.data.token!, 'base64').toString();
    const res = await fetch(`http://${pod.status!.podIP}:9250/v1/status`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return (await res.json()) as {
      state: string;
      count: number;
      restoredCount?: number;
      restoredFrom?: string;
      deploymentId: string;
    };
  };
  const livePodsOk = async (name: string, j: StreamJob) => {
    const ps = (await pods(name)).filter((p) => !p.metadata?.deletionTimestamp);
    expect(ps.map((p) => p.metadata?.labels?.[DEPLOYMENT_LABEL])).toEqual(ps.map(() => j.status!.deployed!.id));
    expect(new Set(ps.map((p) => p.metadata?.labels?.['tributary.dev/slot'])).size).toBe(ps.length);
    expect(ps.length).toBe(j.status!.deployed!.parallelism);
    return ps;
  };

  it('deploys restricted-profile slot pods, owned objects and the scale subresource; kubectl scale rescales through a savepoint', async () => {
    await make('basic');
    const j = await runningJob('basic', 2);
    expect(j.status?.replicas).toBe(2);
    expect(j.status?.selector).toBe('app.kubernetes.io/managed-by=tributary,tributary.dev/job=basic');
    const ps = await livePodsOk('basic', j);
    const spec = ps[0]!.spec as {
      securityContext: Record<string, unknown>;
      containers: { securityContext: Record<string, unknown> }[];
      restartPolicy: string;
    };
    expect(spec.restartPolicy).toBe('Never');
    expect(spec.containers[0]!.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    for (const [rt, n] of [
      [Resources.Service, 'basic'],
      [Resources.Secret, 'basic-control-token'],
      [Resources.ConfigMap, `basic-${j.status!.deployed!.id}`],
    ] as const) {
      const o = await kube.get(rt, ns, n);
      expect(o.metadata?.ownerReferences?.[0]?.name).toBe('basic');
    }
    // a pod that breaks the restricted profile is refused by the real admission
    const bad = kubectl(['run', '-n', ns, 'priv', '--image=busybox', '--privileged', '--restart=Never', '--', 'true']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('restricted');

    await new Promise((r) => setTimeout(r, 1500));
    const before = await slotStatus(ps.find((p) => p.metadata?.labels?.['tributary.dev/slot'] === '0')!);
    const scaled = kubectl(['scale', '-n', ns, 'streamjob/basic', '--replicas=3']);
    expect(scaled.status, scaled.stderr).toBe(0);
    const j3 = await runningJob('basic', 3);
    const sp = j3.status!.savepoints!.at(-1)!;
    expect(sp.reason).toBe('rescale');
    expect(j3.status!.deployed!.restoredFrom).toBe(sp.path);
    const ps3 = await waitFor(
      'old pods gone',
      async () => {
        const all = await pods('basic');
        return all.length === 3 ? all : undefined;
      },
      30_000,
      250,
    );
    await livePodsOk('basic', j3);
    const after = await slotStatus(ps3.find((p) => p.metadata?.labels?.['tributary.dev/slot'] === '0')!);
    expect(after.restoredFrom).toBe(sp.path);
    expect(after.restoredCount!).toBeGreaterThanOrEqual(before.count);
    const running = (await events('basic')).find((e) => e.reason === 'Running' && e.message.includes('rescale'));
    console.log(`rescale 2→3 (stand-in runtime): ${running?.message}`);

    expect(kubectl(['scale', '-n', ns, 'streamjob/basic', '--replicas=1']).status).toBe(0);
    const j1 = await runningJob('basic', 1);
    expect(j1.status!.savepoints!.length).toBe(2);
  });

  it('savepoint failure (failed savepoint, then slot 0 unreachable): old pods keep running, Degraded with the reason, then the upgrade completes', async () => {
    await make('spfail');
    const j = await runningJob('spfail', 2);
    const oldIds = (await pods('spfail')).map((p) => p.metadata?.uid);
    setFault('spfail', { savepoint: 'fail' });
    await kube.patch(StreamJobs, ns, 'spfail', { spec: { restartNonce: 1 } });
    const deg = await waitFor(
      'Degraded SavepointFailed',
      async () => {
        const c = await get('spfail');
        return cond(c, 'Degraded')?.reason === 'SavepointFailed' ? c : undefined;
      },
      30_000,
      250,
    );
    expect(cond(deg, 'Degraded')?.message).toContain('injected savepoint failure');
    expect(deg.status?.pendingOperation?.kind).toBe('upgrade');
    setFault('spfail', { unreachable: true });
    const unreach = await waitFor(
      'Degraded Slot0Unreachable',
      async () => {
        const c = await get('spfail');
        return cond(c, 'Degraded')?.reason === 'Slot0Unreachable' ? c : undefined;
      },
      30_000,
      250,
    );
    expect(unreach.status?.deployed?.id).toBe(j.status?.deployed?.id);
    expect((await pods('spfail')).map((p) => p.metadata?.uid).sort()).toEqual(oldIds.sort()); // old pods untouched
    expect((await events('spfail')).some((e) => e.reason === 'SavepointFailed')).toBe(true);
    setFault('spfail', {});
    const done = await runningJob('spfail', 2);
    expect(done.status?.deployed?.id).not.toBe(j.status?.deployed?.id);
    expect(done.status?.deployed?.restoredFrom).toBe(done.status?.savepoints?.at(-1)?.path);
    expect(cond(done, 'Degraded')?.status).toBe('False');
  });

  it('savepoints.timeout: a hanging savepoint times out and onFailure fallbackToCheckpoint applies — a young checkpoint is restored; with an old one the job is Stalled NoFreshCheckpoint until the savepoint succeeds', async () => {
    await make('sptimeout', {
      savepoints: { timeout: '3s', onFailure: 'fallbackToCheckpoint', maxCheckpointAge: '1h' },
    } as Partial<StreamJobSpec>);
    const j = await runningJob('sptimeout', 2);
    const started = Date.parse(j.status!.deployed!.startedAt);
    await waitFor(
      'a checkpoint of the deployment',
      async () => Date.parse((await get('sptimeout')).status?.lastCheckpoint?.completedAt ?? '0') > started,
      60_000,
      250,
    );
    // Young checkpoint (completed within maxCheckpointAge 1h): the timed-out savepoint falls back to it.
    setFault('sptimeout', { savepoint: 'hang' });
    await kube.patch(StreamJobs, ns, 'sptimeout', { spec: { restartNonce: 1 } });
    const fellBack = await waitFor(
      'Degraded SavepointFailedUsedCheckpoint',
      async () => {
        const c = await get('sptimeout');
        return cond(c, 'Degraded')?.reason === 'SavepointFailedUsedCheckpoint' ? c : undefined;
      },
      60_000,
      250,
    );
    expect(cond(fellBack, 'SavepointInProgress')).toMatchObject({ status: 'False', reason: 'SavepointTimeout' });
    expect(cond(fellBack, 'SavepointInProgress')?.message).toMatch(/not complete after 3s/);
    const cpPath = /restoring checkpoint (\S+)/.exec(cond(fellBack, 'Degraded')!.message)?.[1];
    expect(cpPath).toMatch(/^\/state\/checkpoints\//);
    const up = await runningJob('sptimeout', 2);
    expect(up.status?.deployed?.id).not.toBe(j.status?.deployed?.id);
    expect(up.status?.deployed?.restoredFrom).toBe(cpPath);
    expect(up.status?.savepoints ?? []).toEqual([]); // no savepoint completed: the checkpoint stood in
    expect((await events('sptimeout')).some((e) => e.reason === 'SavepointFailedUsedCheckpoint')).toBe(true);

    // Old checkpoint: none completes any more, and maxCheckpointAge (2s) is shorter than the
    // savepoint timeout (3s), so when the savepoint times out the latest checkpoint is too old.
    await waitFor(
      'a checkpoint of the new deployment',
      async () =>
        Date.parse((await get('sptimeout')).status?.lastCheckpoint?.completedAt ?? '0') >
        Date.parse(up.status!.deployed!.startedAt),
      60_000,
      250,
    );
    setFault('sptimeout', { savepoint: 'hang', checkpoints: 'off' });
    await kube.patch(StreamJobs, ns, 'sptimeout', {
      spec: { restartNonce: 2, savepoints: { maxCheckpointAge: '2s' } },
    });
    const stalled = await waitFor(
      'Stalled NoFreshCheckpoint',
      async () => {
        const c = await get('sptimeout');
        return cond(c, 'Stalled')?.status === 'True' ? c : undefined;
      },
      60_000,
      250,
    );
    expect(cond(stalled, 'Stalled')?.reason).toBe('NoFreshCheckpoint');
    expect(cond(stalled, 'Stalled')?.message).toMatch(/SavepointTimeout: savepoint \S+ not complete after 3s/);
    expect(cond(stalled, 'Stalled')?.message).toMatch(
      /the latest checkpoint \/state\/checkpoints\/\S+ completed \d+s ago .*older than savepoints\.maxCheckpointAge 2s/,
    );
    expect(cond(stalled, 'Degraded')).toMatchObject({ status: 'True', reason: 'NoFreshCheckpoint' });
    expect(cond(stalled, 'Reconciling')).toMatchObject({ status: 'False', reason: 'Stalled' });
    // Nothing was touched: the old deployment runs, the operation waits to retry.
    expect(stalled.status?.deployed?.id).toBe(up.status?.deployed?.id);
    expect(stalled.status?.pendingOperation).toMatchObject({ kind: 'upgrade', step: 'savepoint-failed' });
    expect(cond(stalled, 'Ready')?.status).toBe('True');
    expect((await events('sptimeout')).some((e) => /no checkpoint to fall back to/.test(e.message))).toBe(true);
    // The cause fixed: the retried savepoint completes and the upgrade restores it; no longer Stalled.
    setFault('sptimeout', {});
    const done = await runningJob('sptimeout', 2);
    expect(done.status?.deployed?.id).not.toBe(up.status?.deployed?.id);
    expect(done.status?.deployed?.restoredFrom).toBe(done.status?.savepoints?.at(-1)?.path);
    expect(cond(done, 'Stalled')?.status).toBe('False');
    expect(cond(done, 'Degraded')?.status).toBe('False');
  });

  it('savepoints.timeout: a savepoint given up after its timeout that completes late (the job stopped with it) is the one the retried upgrade restores', async () => {
    await make('splate', {
      savepoints: { timeout: '2s', onFailure: 'block' },
      restartPolicy: { backoff: { initial: '1s', max: '1s' } },
    } as Partial<StreamJobSpec>);
    const j = await runningJob('splate', 2);
    // Each savepoint takes 6 s: the first is given up at 2 s, the retry starts 1 s later, and
    // the first completes while the retry is still pending.
    setFault('splate', { savepoint: 'slow:6000' });
    await kube.patch(StreamJobs, ns, 'splate', { spec: { restartNonce: 1 } });
    const timedOut = await waitFor(
      'the first savepoint given up',
      async () => {
        const c = await get('splate');
        return c.status?.pendingOperation?.timedOutSavepointIds?.length ? c : undefined;
      },
      30_000,
      100,
    );
    const first = timedOut.status!.pendingOperation!.timedOutSavepointIds![0]!;
    expect(cond(timedOut, 'Degraded')?.reason).toBe('SavepointTimeout');
    const done = await runningJob('splate', 2);
    setFault('splate', {});
    expect(done.status?.deployed?.id).not.toBe(j.status?.deployed?.id);
    expect(done.status?.savepoints?.map((s) => s.id)).toEqual([first]);
    expect(done.status?.deployed?.restoredFrom).toBe(`/state/savepoints/${first}`);
    expect(cond(done, 'Degraded')?.status).toBe('False');
  });

  it('upgradeMode savepoint with no state to start from (Failed before any checkpoint): a redeploy is refused, Stalled NoStateToRestore, until spec.initialState: empty', async () => {
    setFault('nostate', { checkpoints: 'off' });
    await make('nostate', {
      restartPolicy: { maxRestarts: 0, backoff: { initial: '1s', max: '1s' } },
    } as Partial<StreamJobSpec>);
    const j = await runningJob('nostate', 2);
    setFault('nostate', { checkpoints: 'off', crash: `${j.status!.deployed!.id}/1` });
    const failed = await waitFor(
      'Failed',
      async () => {
        const c = await get('nostate');
        return c.status?.phase === 'Failed' ? c : undefined;
      },
      60_000,
      250,
    );
    expect(failed.status?.lastCheckpoint).toBeUndefined();
    await waitFor('no pods', async () => (await pods('nostate')).length === 0, 30_000, 250);
    // The user changes the spec: a redeploy would start empty, so it is refused and waits.
    await kube.patch(StreamJobs, ns, 'nostate', { spec: { restartNonce: 1 } });
    const refused = await waitFor(
      'Stalled NoStateToRestore',
      async () => {
        const c = await get('nostate');
        return cond(c, 'Stalled')?.status === 'True' && cond(c, 'Stalled')?.reason === 'NoStateToRestore'
          ? c
          : undefined;
      },
      30_000,
      250,
    );
    const msg = cond(refused, 'Stalled')!.message;
    expect(msg).toContain('upgradeMode savepoint: no savepoint or checkpoint to restore for this upgrade');
    expect(msg).toContain('spec.initialState: empty');
    expect(msg).toContain('spec.restore.savepointPath');
    expect(cond(refused, 'Degraded')).toMatchObject({ status: 'True', reason: 'NoStateToRestore' });
    expect(refused.status?.pendingOperation).toMatchObject({ kind: 'upgrade', step: 'recorded' });
    expect((await events('nostate')).some((e) => e.reason === 'NoStateToRestore')).toBe(true);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await pods('nostate')).toHaveLength(0); // still refused: nothing started empty
    expect((await get('nostate')).status?.pendingOperation?.step).toBe('recorded');
    // Starting empty, said explicitly: the upgrade goes ahead with no state.
    await kube.patch(StreamJobs, ns, 'nostate', { spec: { initialState: 'empty' } });
    const up = await runningJob('nostate', 2);
    expect(up.status?.deployed?.restoredFrom).toBeUndefined();
    expect(up.status?.deployed?.id).not.toBe(j.status?.deployed?.id);
    expect(cond(up, 'Stalled')?.status).toBe('False');
    expect(cond(up, 'Degraded')?.status).toBe('False');
    const ps = await pods('nostate');
    expect((await slotStatus(ps.find((p) => p.metadata?.labels?.['tributary.dev/slot'] === '0')!)).restoredFrom).toBe(
      undefined,
    );
  });

  for (const step of ['intent', 'savepoint-triggered', 'state-ready', 'old-pods-gone', 'starting']) {
    it(`operator killed right after writing "${step}" of an upgrade: the next operator finishes it, no duplicate pods, no lost savepoint`, async () => {
      const name = `kill-${step}`;
      await make(name);
      const before = await runningJob(name, 2);
      // Every pod created from here on, as the apiserver announces it (a pod created and deleted
      // again in between still shows up here, unlike in a list at the end).
      const listed = await kube.request<{ metadata: { resourceVersion: string } }>(
        'GET',
        `/api/v1/namespaces/${ns}/pods`,
        { query: { labelSelector: `tributary.dev/job=${name}` } },
      );
      const added: string[] = [];
      const stopWatch = new AbortController();
      const watching = kube
        .watch<Pod>(
          `/api/v1/namespaces/${ns}/pods`,
          {
            labelSelector: `tributary.dev/job=${name}`,
            resourceVersion: listed.metadata.resourceVersion,
            timeoutSeconds: 600,
          },
          (ev) => {
            if (ev.type === 'ADDED') added.push((ev.object as Pod).metadata?.name ?? '?');
          },
          stopWatch.signal,
        )
        .catch(() => undefined);
      killAt = step;
      killedAt = undefined;
      await kube.patch(StreamJobs, ns, name, {
        spec: { replicas: 3, graph: { ...graph, sinks: [{ name: 'out2', from: 'gen', console: {} }] } },
      });
      await waitFor(`the kill at ${step}`, () => killedAt === step, 30_000, 100);
      await running;
      const mid = await get(name);
      expect(mid.status?.pendingOperation?.kind).toBe('upgrade');
      startOperator();
      const done = await runningJob(name, 3);
      const ps = await livePodsOk(name, done);
      expect(ps.length).toBe(3);
      const sps = done.status?.savepoints ?? [];
      expect(sps.length).toBe(1); // exactly one savepoint: the one of the interrupted upgrade
      expect(done.status?.deployed?.restoredFrom).toBe(sps[0]!.path);
      if (mid.status?.pendingOperation?.restoreFrom)
        expect(done.status?.deployed?.restoredFrom).toBe(mid.status.pendingOperation.restoreFrom);
      // No duplicate pods: across both operators, exactly the new deployment's 3 slot pods were created,
      // each once (no pod of another deployment id, no pod deleted and created again).
      stopWatch.abort();
      await watching;
      const newId = done.status!.deployed!.id;
      expect(newId).not.toBe(before.status?.deployed?.id);
      expect(added.sort()).toEqual([0, 1, 2].map((slot) => `${name}-${newId}-${slot}`).sort());
      await kube.delete(StreamJobs, ns, name);
    });
  }

  it('an invalid spec on a new job: Stalled, phase Invalid, the printer columns show the reason (not Deploying); fixing it deploys', async () => {
    await make('newbad', {
      graph: { ...graph, sinks: [{ name: 'out', from: 'nope', console: {} }] } as unknown as StreamJobSpec['graph'],
    });
    const bad = await waitFor(
      'Stalled',
      async () => {
        const c = await get('newbad');
        return cond(c, 'Stalled')?.status === 'True' ? c : undefined;
      },
      20_000,
      250,
    );
    expect(cond(bad, 'Stalled')?.reason).toBe('InvalidSpec');
    expect(cond(bad, 'Reconciling')?.status).toBe('False');
    expect(cond(bad, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(bad.status?.phase).toBe('Invalid');
    expect(bad.status?.observedGeneration).toBe(bad.metadata.generation);
    const stalled = await kubectlAsync([
      'wait',
      '-n',
      ns,
      'streamjob/newbad',
      '--for=condition=Stalled',
      '--timeout=10s',
    ]);
    expect(stalled.code, stalled.stderr).toBe(0);
    const wide = kubectl(['get', 'sj', 'newbad', '-n', ns, '-o', 'wide']);
    expect(wide.status, wide.stderr).toBe(0);
    const [head, row] = wide.stdout.trim().split('\n');
    expect(head).toMatch(/^NAME\s+PHASE\s+STATUS\s+REPLICAS\s+READY\s+INPUT\s+LAST SAVEPOINT\s+AGE\s+MESSAGE$/);
    expect(row).toMatch(/^newbad\s+Invalid\s+InvalidSpec\s+2\s+0\s/);
    expect(row).toContain('spec rejected, nothing deployed');
    expect(row).not.toContain('Deploying');
    expect(await pods('newbad')).toHaveLength(0);
    await kube.patch(StreamJobs, ns, 'newbad', { spec: { graph } });
    const fixed = await runningJob('newbad', 2);
    expect(cond(fixed, 'Stalled')?.status).toBe('False');
    expect(fixed.status?.observedGeneration).toBe(fixed.metadata.generation);
  });

  it('kstatus: kubectl wait --for=condition=Ready returns once the deploy, then a rescale, is done; Reconciling and observedGeneration follow the work', async () => {
    await make('kst');
    // (kubectl wait runs asynchronously: the operator under test runs in this process.)
    const w0 = await kubectlAsync(['wait', '-n', ns, 'streamjob/kst', '--for=condition=Ready', '--timeout=90s']);
    expect(w0.code, w0.stderr).toBe(0);
    const j = await get('kst');
    expect(j.status?.phase).toBe('Running');
    expect(j.status?.observedGeneration).toBe(j.metadata.generation);
    expect(cond(j, 'Reconciling')?.status).toBe('False');
    expect(cond(j, 'Stalled')?.status).toBe('False');

    expect(kubectl(['scale', '-n', ns, 'streamjob/kst', '--replicas=3']).status).toBe(0);
    // kubectl wait runs while the status is sampled: during the rescale Reconciling is True and
    // observedGeneration behind; kubectl wait returns only once the new pods run.
    const waiting = kubectlAsync(['wait', '-n', ns, 'streamjob/kst', '--for=condition=Ready', '--timeout=90s']);
    const during: StreamJob[] = [];
    let exited: { code: number | null; stderr: string } | undefined;
    void waiting.then((r) => (exited = r));
    while (!exited) {
      const c = await get('kst');
      if (c.status?.pendingOperation) during.push(c);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(exited.code, exited.stderr).toBe(0);
    const after = await get('kst');
    expect(after.status?.deployed?.parallelism).toBe(3);
    expect(after.status?.pendingOperation).toBeUndefined();
    expect(after.status?.observedGeneration).toBe(after.metadata.generation);
    expect(cond(after, 'Ready')).toMatchObject({ status: 'True', observedGeneration: after.metadata.generation });
    expect(cond(after, 'Reconciling')?.status).toBe('False');
    expect(during.length).toBeGreaterThan(0);
    for (const d of during) {
      expect(cond(d, 'Reconciling')).toMatchObject({ status: 'True', reason: 'Rescale' });
      expect(d.status!.observedGeneration!).toBeLessThan(d.metadata.generation!);
    }
  });

  it('suspend takes a savepoint and removes the pods; resume restores it; a crashed slot restarts all slots from the latest checkpoint', async () => {
    await make('susp');
    await runningJob('susp', 2);
    await kube.patch(StreamJobs, ns, 'susp', { spec: { state: 'suspended' } });
    const s = await waitFor(
      'Suspended',
      async () => {
        const c = await get('susp');
        return c.status?.phase === 'Suspended' ? c : undefined;
      },
      30_000,
      250,
    );
    expect(s.status?.resumeFrom).toBe(s.status?.savepoints?.at(-1)?.path);
    await waitFor('no pods', async () => (await pods('susp')).length === 0, 30_000, 250);
    await kube.patch(StreamJobs, ns, 'susp', { spec: { state: 'running' } });
    const r = await runningJob('susp', 2);
    expect(r.status?.deployed?.restoredFrom).toBe(s.status?.resumeFrom);

    // Crash only once the operator has seen a checkpoint of this deployment (under load the
    // first one can take longer than any fixed sleep).
    const startedAt = Date.parse(r.status!.deployed!.startedAt);
    await waitFor(
      'a checkpoint after the resume',
      async () => {
        const c = await get('susp');
        const at = c.status?.lastCheckpoint?.completedAt;
        return at !== undefined && Date.parse(at) > startedAt;
      },
      60_000,
      250,
    );
    setFault('susp', { crash: `${r.status!.deployed!.id}/1` });
    const restarted = await waitFor(
      'restarted',
      async () => {
        const c = await get('susp');
        return (c.status?.restarts ?? 0) >= 1 && c.status?.phase === 'Running' && !c.status.pendingOperation
          ? c
          : undefined;
      },
      60_000,
      250,
    );
    setFault('susp', {});
    expect(restarted.status?.deployed?.id).not.toBe(r.status!.deployed!.id);
    expect(restarted.status?.deployed?.restoredFrom).toMatch(/checkpoints/);
    expect((await events('susp')).some((e) => e.reason === 'SlotFailed')).toBe(true);
  });

  it('delete takes a final savepoint, removes the finalizer, and the pods are garbage-collected', async () => {
    await make('del');
    await runningJob('del', 2);
    await kube.delete(StreamJobs, ns, 'del');
    await waitFor(
      'the StreamJob gone',
      async () => !(await kube.list<StreamJob>(StreamJobs, ns)).items.some((x) => x.metadata.name === 'del'),
      30_000,
      250,
    );
    const ev = (await events('del')).find((e) => e.reason === 'FinalSavepoint');
    expect(ev?.message).toContain('/state/savepoints/');
    await waitFor('pods garbage-collected', async () => (await pods('del')).length === 0, 60_000, 500);
  });
});
