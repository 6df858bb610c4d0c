// The live rescale's steps against a scripted slot 0 (a unit test of its decisions: what it posts,
// which pod it creates with which env, which pods it deletes, what it records, and how it falls
// back or fails); the real runtime and cluster are live-rescale-e2e.int.test.ts.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { MigrationStatus } from '../../../../../runtime/src/control/contract.ts';
import type { PendingOperation, StreamJobStatus } from '../../../api/v1alpha1/streamjob.ts';
import { RuntimeError, RuntimeErrorCodes } from '../../../runtime-client/client.ts';
import type { JobCtx, ReconcilerInternals } from '../job-context.ts';
import type { Pod } from '../objects/slot-pod.ts';
import { unobserved } from '../observer.ts';
import { specHash } from '../spec/hash.ts';
import type { StatusWrite } from '../status-writes.ts';
import { liveSpec, pod, pods, type PodState } from '../testing/live-rescale-fixtures.ts';
import { sampleJob } from '../testing/sample-job.ts';
import { advanceLiveRescale, startLiveRescale } from './live-rescale.ts';

const defaults = { image: 'img:default' };
const now = new Date('2026-01-01T00:01:00Z');

function setup(from: number, to: number, states: PodState[]) {
  const created: Pod[] = [];
  const deleted: string[] = [];
  const events: string[] = [];
  const writes: StatusWrite[] = [];
  const posted: unknown[] = [];
  let answer: () => Promise<MigrationStatus> = () => Promise.reject(new Error('not scripted'));
  let post: () => Promise<{ id: string }> = () => Promise.resolve({ id: 'mig-1' });
  const r = {
    deps: {
      defaults,
      kube: {
        create: (_r: unknown, o: Pod) => (created.push(o), Promise.resolve(o)),
        delete: (_r: unknown, _ns: unknown, name: string) => (deleted.push(name), Promise.resolve()),
      },
      runtime: {
        requestMigration: (base: string, token: string, req: unknown) => (posted.push({ base, token, req }), post()),
        migration: () => answer(),
      },
      events: {
        normal: (_j: unknown, reason: string, msg: string) => (events.push(`${reason}: ${msg}`), Promise.resolve()),
        warning: (_j: unknown, reason: string, msg: string) => (events.push(`${reason}: ${msg}`), Promise.resolve()),
      },
      metrics: { operations: { inc: () => {} }, restarts: { inc: () => {} }, unhealthyRestarts: { inc: () => {} } },
    },
    record: (c: JobCtx, write: StatusWrite, mutate: (st: StreamJobStatus) => StreamJobStatus) => {
      writes.push(write);
      c.job = { ...c.job, status: mutate(structuredClone(c.job.status ?? {})) };
      return Promise.resolve(c.job);
    },
    runtimeBackoff: () => 1_000,
    after: () => undefined,
    advance: () => Promise.resolve(undefined),
  } as unknown as ReconcilerInternals;
  const old = { ...liveSpec, replicas: from };
  const job = sampleJob(
    { ...liveSpec, replicas: to },
    {
      phase: 'Running',
      deploymentCounter: 1,
      deployed: {
        id: 'd1',
        specHash: specHash(old, defaults),
        parallelism: from,
        startedAt: '2026-01-01T00:00:00Z',
        spec: JSON.stringify(old),
      },
    },
  );
  job.metadata.generation = 2;
  const c: JobCtx = { job, log: pino({ level: 'silent' }), obs: unobserved(), now };
  const see = (s: PodState[], runtime: { state: string; error?: string } = { state: 'RUNNING' }) => {
    const current = pods(...s);
    c.obs = {
      ...unobserved(),
      pods: [...current.values()],
      current,
      deploymentId: 'd1',
      token: 't',
      runtime,
    } as JobCtx['obs'];
  };
  see(states);
  const op = () => c.job.status!.pendingOperation as PendingOperation;
  const advance = () => advanceLiveRescale(r, c, op());
  return {
    r,
    c,
    see,
    op,
    advance,
    created,
    deleted,
    events,
    writes,
    posted,
    answer: (f: () => Promise<MigrationStatus>) => (answer = f),
    post: (f: () => Promise<{ id: string }>) => (post = f),
    start: () => startLiveRescale(r, c, c.job.spec, from),
  };
}

const mig = (extra: Partial<MigrationStatus>): MigrationStatus => ({
  id: 'mig-1',
  state: 'IN_PROGRESS',
  from: 2,
  to: 3,
  phase: 'joining',
  stepsDone: 0,
  steps: 4,
  keyGroupsMoved: 0,
  keyGroups: 128,
  bytesMoved: 0,
  bytes: 0,
  startedAt: '2026-01-01T00:01:00Z',
  ...extra,
});
const env = (p: Pod) =>
  Object.fromEntries(
    ((p.spec!.containers as { env: { name: string; value?: string }[] }[])[0]!.env ?? []).map((e) => [e.name, e.value]),
  );

describe('a live scale out of slot pods (2 → 3)', () => {
  it('records the intent, posts with its requestId, creates the awaited pod joining, records the same deployment at 3', async () => {
    const t = setup(2, 3, ['running', 'running']);
    await t.start();
    expect(t.op()).toMatchObject({
      kind: 'liveRescale',
      step: 'recorded',
      targetDeploymentId: 'd1',
      live: { from: 2, to: 3, requestId: 'u1-live-2' },
    });
    expect(t.c.job.status?.migration).toMatchObject({ from: 2, to: 3, state: 'IN_PROGRESS', phase: 'requested' });
    expect(t.c.job.status?.phase).toBe('Running');
    expect(t.events).toEqual([expect.stringMatching(/^LiveRescaleStarted: live rescale from 2 to 3 slots/)]);

    t.answer(() => Promise.resolve(mig({ awaiting: { slot: 2, generation: 1, parallelism: 3 } })));
    expect(await t.advance()).toEqual({ requeueAfter: 1_000 });
    expect(t.posted).toEqual([{ base: 'http://10.0.0.1:9250', token: 't', req: { to: 3, requestId: 'u1-live-2' } }]);
    expect(t.op()).toMatchObject({ step: 'migrating', live: { migrationId: 'mig-1' } });
    expect(t.created.map((p) => p.metadata?.name)).toEqual(['j-d1-2']);
    const e = env(t.created[0]!);
    expect(e).toMatchObject({
      TRIBUTARY_JOIN: '1',
      TRIBUTARY_PARALLELISM: '3',
      TRIBUTARY_SLOT: '2',
      TRIBUTARY_DEPLOYMENT_ID: 'd1',
    });
    expect((t.created[0]!.spec!.containers as { image: string }[])[0]!.image).toBe('img:running');
    expect(t.created[0]!.metadata?.labels?.['tributary.dev/slot']).toBe('2');
    expect(t.op().message).toBe("step 0/4: 0 key groups, 0 B moved; waiting for slot 2's pod");
    expect(t.c.job.status?.migration).toMatchObject({ id: 'mig-1', phase: 'joining', steps: 4 });

    // The pod is there: not created again; then progress.
    t.see(['running', 'running', 'running']);
    t.answer(() => Promise.resolve(mig({ phase: 'moving', stepsDone: 2, keyGroupsMoved: 21, bytesMoved: 4096 })));
    await t.advance();
    expect(t.created).toHaveLength(1);
    expect(t.op().message).toBe('step 2/4: 21 key groups, 4.0 KiB moved');
    expect(t.c.job.status?.migration).toMatchObject({ stepsDone: 2, keyGroupsMoved: 21, bytesMoved: 4096 });
    const writes = t.writes.length;
    await t.advance(); // nothing new: no status write
    expect(t.writes).toHaveLength(writes);

    t.answer(() =>
      Promise.resolve(
        mig({
          state: 'COMPLETED',
          phase: 'done',
          stepsDone: 4,
          keyGroupsMoved: 42,
          finishedAt: '2026-01-01T00:01:30Z',
        }),
      ),
    );
    await t.advance();
    const s = t.c.job.status!;
    expect(s.pendingOperation).toBeUndefined();
    expect(s.deployed).toMatchObject({ id: 'd1', parallelism: 3, specHash: specHash(t.c.job.spec, defaults) });
    expect(JSON.parse(s.deployed!.spec!).replicas).toBe(3);
    expect(s.migration).toMatchObject({
      state: 'COMPLETED',
      stepsDone: 4,
      keyGroupsMoved: 42,
      finishedAt: '2026-01-01T00:01:30Z',
    });
    expect(s.conditions?.find((x) => x.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Running' });
    expect(s.conditions?.find((x) => x.type === 'Progressing')).toMatchObject({ reason: 'LiveRescaleCompleted' });
    expect(s.rescales?.at(-1)).toMatchObject({ from: 2, to: 3, mode: 'live', deployment: 'd1' });
    expect(s.rescales?.at(-1)?.completedAt).toBeDefined();
    expect(t.events.at(-1)).toMatch(/^LiveRescaleCompleted: deployment d1 runs with 3 slot\(s\), rescaled live from 2/);
    expect(t.writes).toEqual([
      'intent',
      'live-requested',
      'live-progress',
      'live-progress',
      'live-completed',
      'live-done',
    ]);
  });

  it('an operator restarted before it recorded the id posts again with the same requestId', async () => {
    const t = setup(2, 3, ['running', 'running']);
    await t.start();
    t.answer(() => Promise.resolve(mig({})));
    t.post(() => Promise.reject(new RuntimeError(RuntimeErrorCodes.unreachable, 'timeout')));
    await t.advance();
    expect(t.op().step).toBe('recorded');
    expect(t.op().message).toMatch(/^asking slot 0 again: \[RUNTIME_ERR_UNREACHABLE\] timeout/);
    t.post(() => Promise.resolve({ id: 'mig-1' }));
    await t.advance();
    expect(t.posted.map((p) => (p as { req: unknown }).req)).toEqual([
      { to: 3, requestId: 'u1-live-2' },
      { to: 3, requestId: 'u1-live-2' },
    ]);
    expect(t.op().step).toBe('migrating');
  });
});

describe('a live scale in of slot pods (3 → 1)', () => {
  it('waits until the slots that left are Succeeded with left: true, deletes them, then records 1 slot', async () => {
    const t = setup(3, 1, ['running', 'running', 'running']);
    await t.start();
    t.answer(() => Promise.resolve(mig({ from: 3, to: 1, state: 'COMPLETED', phase: 'done', steps: 2, stepsDone: 2 })));
    t.see(['running', 'left', 'running']);
    await t.advance();
    expect(t.op().step).toBe('migrated');
    expect(t.deleted).toEqual(['j-d1-1']);
    expect(t.op().message).toBe('waiting for slot(s) 2 to leave');

    t.see(['running', 'deleting', 'left']);
    // A pod deleted by the operator after it left is no failure; its peer that left is deleted now.
    t.c.obs.current.set(1, { ...pod(1, 'left'), metadata: { ...pod(1, 'left').metadata!, deletionTimestamp: 'x' } });
    await t.advance();
    expect(t.deleted).toEqual(['j-d1-1', 'j-d1-2']);
    expect(t.c.job.status?.pendingOperation).toBeDefined();

    t.see(['running']);
    await t.advance();
    expect(t.c.job.status?.pendingOperation).toBeUndefined();
    expect(t.c.job.status?.deployed).toMatchObject({ id: 'd1', parallelism: 1 });
  });
});

describe('a live rescale slot 0 refuses, or that fails', () => {
  it('409 TRIB_RESCALE_UNSUPPORTED before anything moved: the savepoint rescale, Event LiveRescaleAborted', async () => {
    const t = setup(2, 3, ['running', 'running']);
    await t.start();
    t.post(() =>
      Promise.reject(
        new RuntimeError(RuntimeErrorCodes.rejected, 'POST …: 409', {
          statusCode: 409,
          runtimeCode: 'TRIB_RESCALE_UNSUPPORTED',
        }),
      ),
    );
    await t.advance();
    expect(t.op()).toMatchObject({ kind: 'rescale', mode: 'savepoint', step: 'recorded' });
    expect(t.op().targetDeploymentId).not.toBe('d1');
    expect(t.c.job.status?.migration).toMatchObject({ state: 'ABORTED' });
    expect(t.c.job.status?.migration?.error).toMatch(/TRIB_RESCALE_UNSUPPORTED/);
    expect(t.c.job.status?.rescales?.map((x) => x.mode)).toEqual(['savepoint']);
    expect(t.events).toContainEqual(
      expect.stringMatching(/^LiveRescaleAborted: .*TRIB_RESCALE_UNSUPPORTED.*by savepoint$/),
    );
  });

  it('404 (a runtime without migrations) aborts the same way', async () => {
    const t = setup(2, 3, ['running', 'running']);
    await t.start();
    t.post(() => Promise.reject(new RuntimeError(RuntimeErrorCodes.notFound, 'POST …: 404', { statusCode: 404 })));
    await t.advance();
    expect(t.op().kind).toBe('rescale');
  });

  it('the migration FAILED: the deployment recorded at the target, a restart started, Event LiveRescaleFailed', async () => {
    const t = setup(2, 3, ['running', 'running']);
    await t.start();
    t.answer(() =>
      Promise.resolve(mig({ state: 'FAILED', error: 'slot 2 did not join', code: 'TRIB_RESCALE_STEP_FAILED' })),
    );
    await t.advance();
    const s = t.c.job.status!;
    expect(s.deployed).toMatchObject({ parallelism: 3, specHash: specHash(t.c.job.spec, defaults) });
    expect(s.pendingOperation).toMatchObject({ kind: 'restart' });
    expect(JSON.parse(s.pendingOperation!.targetSpec!).replicas).toBe(3);
    expect(s.migration).toMatchObject({ state: 'FAILED', error: 'slot 2 did not join (TRIB_RESCALE_STEP_FAILED)' });
    expect(t.events).toContainEqual(
      expect.stringMatching(
        /^LiveRescaleFailed: live rescale mig-1 failed: slot 2 did not join \(TRIB_RESCALE_STEP_FAILED\)/,
      ),
    );
  });

  it('a joined pod that fails: a restart at the target', async () => {
    const t = setup(2, 3, ['running', 'running']);
    await t.start();
    t.answer(() => Promise.resolve(mig({})));
    await t.advance();
    t.see(['running', 'running', 'failed']);
    await t.advance();
    expect(t.c.job.status?.pendingOperation).toMatchObject({ kind: 'restart' });
    expect(t.c.job.status?.deployed?.parallelism).toBe(3);
    expect(t.events).toContainEqual(expect.stringMatching(/^LiveRescaleFailed: slot\(s\) 2 failed or vanished/));
  });

  it('a joining pod the apiserver refuses is reported in the operation, not thrown', async () => {
    const t = setup(2, 3, ['running', 'running']);
    await t.start();
    (t.r.deps.kube as unknown as { create: () => Promise<never> }).create = () =>
      Promise.reject(new Error('pods "j-d1-2" is forbidden: exceeded quota'));
    t.answer(() => Promise.resolve(mig({ awaiting: { slot: 2, generation: 1, parallelism: 3 } })));
    expect(await t.advance()).toEqual({ requeueAfter: 1_000 });
    expect(t.op().message).toBe(
      'step 0/4: 0 key groups, 0 B moved; waiting for slot 2\'s pod; creating slot 2\'s pod failed: pods "j-d1-2" is forbidden: exceeded quota',
    );
  });

  it('slot 0 answering garbage is reported in the operation, not thrown', async () => {
    const t = setup(2, 3, ['running', 'running']);
    await t.start();
    t.answer(() => Promise.reject(new RuntimeError(RuntimeErrorCodes.protocol, 'GET …: not a migration status')));
    expect(await t.advance()).toEqual({ requeueAfter: 1_000 });
    expect(t.op().step).toBe('migrating');
    expect(t.op().message).toMatch(/RUNTIME_ERR_PROTOCOL/);
    t.answer(() => Promise.resolve(mig({ awaiting: { slot: 7, generation: 1, parallelism: 8 } })));
    await t.advance();
    expect(t.created).toEqual([]);
    expect(t.op().message).toMatch(/slot 0 awaits slot 7 .* not one of a live rescale from 2 to 3/);
  });
});
