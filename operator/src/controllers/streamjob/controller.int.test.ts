// StreamJob controller on the real kube-apiserver + controller-manager (GC) + node agent,
// in a namespace that enforces Pod Security "restricted", with slot pods running the TEST-ONLY
// stand-in runtime (testing/fake-runtime.ts, image tributary/node:*). Only tests that inject a
// fault the real runtime cannot produce on demand live here: a savepoint that fails, slot 0
// unreachable, a savepoint that hangs or completes late (savepoints.timeout; the stand-in also
// stops completing checkpoints so the last one ages past maxCheckpointAge), and a job Failed
// before any checkpoint (the real runtime checkpoints as soon as its sources open: only the
// stand-in's checkpoints-off leaves a job with no state to restore). Everything else runs the
// real runtime:
//   restricted-profile pods, owned objects, scale status, kstatus (kubectl wait, Reconciling,
//     observedGeneration) and kubectl scale → e2e.int.test.ts;
//   kubectl scale through a savepoint (restored by slot 0), suspend/resume, delete with a final
//     savepoint → savepoint-e2e.int.test.ts;
//   a crashed slot restarts all slots from the latest checkpoint → last-state-e2e.int.test.ts;
//   an invalid spec, on a new job and on a running one → invalid-spec-e2e.int.test.ts;
//   the operator killed after each write-ahead step (a real SIGKILL of its process, rescales
//     and upgrades) → operator-kill-e2e.int.test.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Manager, Resources, type KubeClient } from '../../kube/index.ts';
import { applyRepoCrd, newClient, suffix, waitFor } from '../../kube/testing/cluster.ts';
import { createRegistry, kubeMetrics } from '../../telemetry/metrics.ts';
import { createLogger } from '../../telemetry/logger.ts';
import type { StreamJob, StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';
import { repoRoot } from '../../../../test/cluster/paths.ts';
import { addStreamJobController } from './controller.ts';
import { StreamJobs } from './resource.ts';
import type { Pod } from './objects/slot-pod.ts';

const fake = join(repoRoot, 'operator/src/controllers/streamjob/testing/fake-runtime.ts');
const clusterDir = process.env.TRIBUTARY_CLUSTER_DIR ?? join(process.env.HOME ?? '/root', '.cache/tributary/cluster');
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
  let registry = createRegistry();

  const startOperator = () => {
    registry = createRegistry();
    const m = new Manager({
      client: kube,
      registry,
      shutdownTimeoutMs: 2_000,
      ...(process.env.SJ_LOG ? { logger: createLogger() } : {}),
    });
    const added = addStreamJobController(m, {
      namespace: ns,
      defaultImage: 'tributary/node:test',
      containerArgs: [fake],
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
  /** Reconciles of StreamJobs the running operator finished (any result). */
  const reconciles = async () =>
    (await kubeMetrics(registry).reconcileTotal.get()).values
      .filter((v) => v.labels.controller === 'streamjob')
      .reduce((n, v) => n + v.value, 0);
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
    // The Event is recorded after the status write that made the job Stalled: waited for, not read at once.
    await waitFor(
      'the Event saying there is no checkpoint to fall back to',
      async () => (await events('sptimeout')).some((e) => /no checkpoint to fall back to/.test(e.message)),
      15_000,
      250,
    );
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
    // A slot pod deleted: with maxRestarts 0 the job is Failed (no checkpoint ever completed).
    const slot1 = (await pods('nostate')).find((p) => p.metadata?.labels?.['tributary.dev/slot'] === '1')!;
    await kube.delete(Resources.Pod, ns, slot1.metadata!.name!);
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
    // Reconciled again (a refused job is not requeued: an annotation change wakes it): still refused.
    const seen = await reconciles();
    await kube.patch(StreamJobs, ns, 'nostate', { metadata: { annotations: { 'tributary.dev/test-wake': '1' } } });
    await waitFor('a reconcile after the wake-up', async () => (await reconciles()) > seen, 30_000, 100);
    expect(await pods('nostate')).toHaveLength(0);
    expect((await get('nostate')).status?.pendingOperation?.step).toBe('recorded');
    // Another spec change re-plans the upgrade: refused again at that generation, nothing started empty.
    await kube.patch(StreamJobs, ns, 'nostate', { spec: { restartNonce: 2 } });
    const again = await waitFor(
      'the re-planned upgrade refused',
      async () => {
        const c = await get('nostate');
        const degraded = cond(c, 'Degraded');
        return degraded?.reason === 'NoStateToRestore' && degraded.observedGeneration === c.metadata.generation
          ? c
          : undefined;
      },
      30_000,
      250,
    );
    expect(again.status?.pendingOperation).toMatchObject({ kind: 'upgrade', step: 'recorded' });
    expect(again.status?.pendingOperation?.targetSpecHash).not.toBe(refused.status?.pendingOperation?.targetSpecHash);
    expect(await pods('nostate')).toHaveLength(0);
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
});
