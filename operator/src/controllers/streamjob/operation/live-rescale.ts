// Live rescale of slot pods (spec.rescale.mode live, a replicas-only change): the running
// deployment moves to the new parallelism without stopping; no pod is replaced and the deployment
// id stays. Write-ahead like every operation (status.pendingOperation, advance.ts):
//
//   recorded (intent: kind liveRescale, from, to, the POST's requestId; from here on a restart
//   restores the last completed checkpoint at `to`) ──POST /v1/migrations {to, requestId} to
//   slot 0──▶ migrating (its id recorded) ──poll each reconcile; create the pod of the slot slot 0
//   awaits (TRIBUTARY_JOIN, TRIBUTARY_PARALLELISM)──▶ migrated (COMPLETED) ──scale in: delete the
//   pods of the slots that left──▶ done (status.deployed at `to`, same id; operation cleared).
//
// A repeated requestId returns the same migration, so an operator killed anywhere re-POSTs
// safely. Slot 0 refusing before anything moved (404: a runtime without migrations; 400, 409:
// TRIB_RESCALE_UNSUPPORTED, TRIB_RESCALE_PLAN_INVALID), or not accepting within ACCEPT_TIMEOUT_MS,
// falls back to the savepoint rescale (Event LiveRescaleAborted). Once accepted, a failure — the
// migration FAILED, a slot pod that ends without having left, the runtime FAILED — records the
// deployment at `to` and starts the ordinary restart (Event LiveRescaleFailed): the restart's
// new deployment restores the newest checkpoint with `to` slots. Slot 0 answering garbage is
// reported in the operation's message (Reconciling) and retried, never thrown through.
import type { MigrationStatus } from '../../../../../runtime/src/control/contract.ts';
import type { MigrationRecord, PendingOperation, StreamJobSpec } from '../../../api/v1alpha1/streamjob.ts';
import { Resources } from '../../../kube/index.ts';
import { RuntimeError, RuntimeErrorCodes } from '../../../runtime-client/client.ts';
import { degradedByOperation, operationName, runningMessage, setJobCondition } from '../conditions.ts';
import { createIgnoringExists, deletePods } from '../idempotent-writes.ts';
import type { JobCtx, ReconcilerInternals, StepResult } from '../job-context.ts';
import { joiningSlotPod, isPodReady, type Pod } from '../objects/slot-pod.ts';
import { slot0Url } from '../observer.ts';
import { recordRescaleDone } from './rescale-history.ts';
import { settlingMs } from '../slot-failure.ts';
import { effectiveStateStorage } from '../state-storage.ts';
import { describeOp, modeFor, targetOf } from './kinds.ts';
import {
  joinAction,
  liveFailure,
  liveOf,
  migrationRecord,
  progressMessage,
  scaleInAction,
  type JoinAction,
} from './live-rescale-plan.ts';
import { startRestart } from './restart.ts';
import { startOperation } from './start.ts';

/** How often a running migration is polled (ms). */
export const POLL_MS = 1_000;
/** How long slot 0 may take to accept the migration (unreachable, 5xx) before the rescale goes by savepoint. */
export const ACCEPT_TIMEOUT_MS = 120_000;

/** Starts a live rescale of the deployed job from `from` to `to` slots (decide-operation.ts checked that it can). */
export function startLiveRescale(r: ReconcilerInternals, c: JobCtx, spec: StreamJobSpec, from: number): StepResult {
  const st = c.job.status ?? {};
  const depId = st.deployed?.id;
  const to = spec.replicas;
  const requestId = `${c.job.metadata.uid}-live-${(st.deploymentCounter ?? 0) + 1}`;
  const migration: MigrationRecord = {
    id: '',
    from,
    to,
    state: 'IN_PROGRESS',
    phase: 'requested',
    stepsDone: 0,
    steps: 0,
    keyGroupsMoved: 0,
    bytesMoved: 0,
    startedAt: c.now.toISOString(),
  };
  return startOperation(r, c, {
    kind: 'liveRescale',
    spec,
    // What a restart during it restores: the newest checkpoint (at the new parallelism).
    mode: 'last-state',
    extra: { ...(depId ? { targetDeploymentId: depId } : {}), live: { from, to, requestId } },
    alsoRecord: (s) => {
      s.migration = migration;
    },
  });
}

export async function advanceLiveRescale(r: ReconcilerInternals, c: JobCtx, op: PendingOperation): StepResult {
  const live = liveOf(op);
  const why = liveFailure(op, c.obs.current, c.obs.runtime);
  if (why !== undefined) {
    const settling = settlingMs(c.obs.current, Math.max(live.from, live.to), c.now);
    return settling > 0 ? { requeueAfter: settling } : failLive(r, c, op, why, undefined);
  }
  if (op.step === 'migrated') return finishLive(r, c, op);
  if (!live.migrationId) return requestLive(r, c, op);
  return pollLive(r, c, op, live.migrationId);
}

async function requestLive(r: ReconcilerInternals, c: JobCtx, op: PendingOperation): StepResult {
  const live = liveOf(op);
  const url = slot0Url(c.obs);
  const overdue = c.now.getTime() - Date.parse(op.startedAt) > ACCEPT_TIMEOUT_MS;
  if (!url || !c.obs.token || c.obs.current.get(0)?.status?.phase !== 'Running') {
    const wait = 'waiting for slot 0 to answer';
    return overdue ? abortLive(r, c, op, `${wait} for ${ACCEPT_TIMEOUT_MS / 1000}s`) : holdLive(r, c, op, wait);
  }
  let id: string;
  try {
    id = (await r.deps.runtime.requestMigration(url, c.obs.token, { to: live.to, requestId: live.requestId })).id;
  } catch (err) {
    const e = err instanceof RuntimeError ? err : undefined;
    const refused = e && (e.code === RuntimeErrorCodes.notFound || e.statusCode === 400 || e.statusCode === 409);
    // A 409 may be this operation's own earlier POST, still being accepted when it timed out: adopt it.
    const running = c.obs.runtime?.migration;
    if (refused && e.statusCode === 409 && running?.state === 'IN_PROGRESS' && running.to === live.to) id = running.id;
    else if (refused) return abortLive(r, c, op, `slot 0 refused it: ${e.runtimeCode ?? e.code}: ${e.message}`);
    else if (overdue) return abortLive(r, c, op, `slot 0 did not accept it: ${(err as Error).message}`);
    else return holdLive(r, c, op, `asking slot 0 again: ${(err as Error).message}`);
  }
  await r.record(c, 'live-requested', (s) => {
    if (s.pendingOperation?.live) {
      s.pendingOperation = {
        ...s.pendingOperation,
        step: 'migrating',
        live: { ...s.pendingOperation.live, migrationId: id },
      };
      delete s.pendingOperation.message;
    }
    if (s.migration) s.migration = { ...s.migration, id };
    return s;
  });
  c.log.info({ migration: id, from: live.from, to: live.to }, 'live rescale accepted by slot 0');
  return pollLive(r, c, c.job.status!.pendingOperation!, id);
}

async function pollLive(r: ReconcilerInternals, c: JobCtx, op: PendingOperation, id: string): StepResult {
  const url = slot0Url(c.obs);
  if (!url || !c.obs.token) return holdLive(r, c, op, 'waiting for slot 0 to answer');
  let m: MigrationStatus;
  try {
    m = await r.deps.runtime.migration(url, c.obs.token, id);
  } catch (err) {
    // Slot 0 forgot the migration only if it restarted, which a slot pod does not do (restartPolicy Never).
    if (err instanceof RuntimeError && err.code === RuntimeErrorCodes.notFound)
      return failLive(r, c, op, `slot 0 no longer knows migration ${id}`, undefined);
    return holdLive(r, c, op, `slot 0's migration status: ${(err as Error).message}`);
  }
  const startedAt = c.job.status?.migration?.startedAt ?? op.startedAt;
  const record = migrationRecord(m, startedAt);
  if (m.state === 'FAILED')
    return failLive(r, c, op, `live rescale ${id} failed: ${record.error ?? 'no reason given'}`, record);
  if (m.state === 'COMPLETED') {
    await r.record(c, 'live-completed', (s) => {
      if (s.pendingOperation) {
        s.pendingOperation = { ...s.pendingOperation, step: 'migrated' };
        delete s.pendingOperation.message;
      }
      s.migration = record;
      return s;
    });
    return finishLive(r, c, c.job.status!.pendingOperation!);
  }
  const join = joinAction(op, c.obs.current, m);
  let refused = '';
  // A create the apiserver refuses (a quota, a planted pod of that name) is reported; slot 0's own bound on the
  // join then fails the migration, and the restart path takes over.
  if (join.kind === 'create')
    await createJoining(r, c, op, join).catch((e: unknown) => {
      refused = `; creating slot ${join.joining.slot}'s pod failed: ${(e as Error).message}`;
    });
  return holdLive(r, c, op, `${progressMessage(record, join)}${refused}`, record);
}

/** Creates the pod of the slot slot 0 awaits: the deployment's slot pod, joining. */
async function createJoining(
  r: ReconcilerInternals,
  c: JobCtx,
  op: PendingOperation,
  join: Extract<JoinAction, { kind: 'create' }>,
): Promise<void> {
  const { deps } = r;
  const { target, spec } = targetOf(op);
  const { slot, generation, parallelism } = join.joining;
  // The image the deployment's pods run (the operator's default may have changed since they were made).
  const running = (c.obs.current.get(0)?.spec?.containers as { image?: string }[] | undefined)?.[0]?.image;
  const image = running || spec.image || deps.defaults.image;
  const storage = effectiveStateStorage(spec, deps.defaults);
  const pod = joiningSlotPod({ job: c.job, spec, storage, depId: target, slot, parallelism, image }, generation);
  if (deps.containerArgs) (pod.spec!.containers as Record<string, unknown>[])[0]!.args = [...deps.containerArgs];
  if (await createIgnoringExists(deps.kube, Resources.Pod, pod)) {
    c.log.info({ deployment: target, slot, generation, parallelism }, 'joining slot pod created');
    await deps.events.normal(
      c.job,
      'PodsCreated',
      `deployment ${target}: slot ${slot}'s pod created to join the running job (generation ${generation}, ${parallelism} slots)`,
    );
  }
}

/** migrated → done: a scale in's slots that left are deleted, then the deployment is recorded at `to`. */
async function finishLive(r: ReconcilerInternals, c: JobCtx, op: PendingOperation): StepResult {
  const { from, to } = liveOf(op);
  const missing = Array.from({ length: to }, (_, s) => s).filter((s) => !c.obs.current.has(s));
  if (missing.length > 0)
    return failLive(r, c, op, `slot(s) ${missing.join(',')} have no pod after the live rescale completed`, undefined);
  if (to < from) {
    const { remove, leaving } = scaleInAction(op, c.obs.current);
    if (remove.length > 0) {
      await deletePods(r.deps.kube, c.log, remove);
      c.log.info({ slots: remove.map((p) => p.metadata?.name) }, 'pods of the slots that left deleted');
    }
    if (leaving.length > 0) return holdLive(r, c, op, `waiting for slot(s) ${leaving.join(',')} to leave`);
    if (remove.length > 0) return { requeueAfter: POLL_MS };
  }
  const { target } = targetOf(op);
  const pods = Array.from({ length: to }, (_, s) => c.obs.current.get(s) as Pod);
  const ready = pods.filter(isPodReady).length;
  const gen = c.job.metadata.generation;
  await r.record(c, 'live-done', (s) => {
    if (s.deployed) s.deployed = { ...s.deployed, specHash: op.targetSpecHash, parallelism: to, spec: op.targetSpec! };
    delete s.pendingOperation;
    recordRescaleDone(s, target, c.now);
    if (s.migration) s.migration = { ...s.migration, finishedAt: s.migration.finishedAt ?? c.now.toISOString() };
    s.phase = 'Running';
    s.readyReplicas = ready;
    setJobCondition(
      s,
      ready === to
        ? { type: 'Ready', status: 'True', reason: 'Running', message: runningMessage(s, to, target) }
        : { type: 'Ready', status: 'False', reason: 'NotReady', message: `not ready: ${to - ready} slot pod(s)` },
      gen,
      c.now,
    );
    setJobCondition(
      s,
      { type: 'Progressing', status: 'False', reason: `${operationName(op.kind)}Completed`, message: describeOp(op) },
      gen,
      c.now,
    );
    if (degradedByOperation(s)) {
      setJobCondition(
        s,
        { type: 'Degraded', status: 'False', reason: 'Recovered', message: `deployment ${target} running` },
        gen,
        c.now,
      );
      delete s.lastError;
    }
    return s;
  });
  r.deps.metrics.operations.inc({ kind: op.kind, result: 'completed' });
  const m = c.job.status?.migration;
  const figures = m ? `: ${m.steps} step(s), ${m.keyGroupsMoved} key groups, ${m.bytesMoved} bytes moved` : '';
  await r.deps.events.normal(
    c.job,
    'LiveRescaleCompleted',
    `deployment ${target} runs with ${to} slot(s), rescaled live from ${from}${figures}`,
  );
  return r.after(c.job);
}

/**
 * The job failed during the live rescale: the deployment is recorded at `to` (what a restart brings
 * up), the operation ends, and the ordinary restart takes over (backoff, maxRestarts).
 */
async function failLive(
  r: ReconcilerInternals,
  c: JobCtx,
  op: PendingOperation,
  why: string,
  record: MigrationRecord | undefined,
): StepResult {
  const { to } = liveOf(op);
  await r.record(c, 'live-failed', (s) => {
    if (s.deployed) s.deployed = { ...s.deployed, specHash: op.targetSpecHash, parallelism: to, spec: op.targetSpec! };
    delete s.pendingOperation;
    const base = record ?? s.migration;
    if (base)
      s.migration = {
        ...base,
        state: 'FAILED',
        finishedAt: base.finishedAt ?? c.now.toISOString(),
        error: base.error ?? why,
      };
    return s;
  });
  r.deps.metrics.operations.inc({ kind: op.kind, result: 'failed' });
  await r.deps.events.warning(
    c.job,
    'LiveRescaleFailed',
    `${why}; restarting at ${to} slot(s) from the latest checkpoint`,
  );
  return startRestart(r, c, why);
}

/** Slot 0 refused before anything moved: the rescale goes by savepoint instead, in the same status write. */
async function abortLive(r: ReconcilerInternals, c: JobCtx, op: PendingOperation, why: string): StepResult {
  const { spec } = targetOf(op);
  const { from, to } = liveOf(op);
  c.log.warn({ why }, 'live rescale aborted: rescaling by savepoint');
  await r.deps.events.warning(
    c.job,
    'LiveRescaleAborted',
    `live rescale from ${from} to ${to} aborted (${why}); rescaling by savepoint`,
  );
  r.deps.metrics.operations.inc({ kind: op.kind, result: 'aborted' });
  return startOperation(r, c, {
    kind: 'rescale',
    spec,
    mode: modeFor(spec),
    alsoRecord: (s) => {
      if (s.migration) s.migration = { ...s.migration, state: 'ABORTED', finishedAt: c.now.toISOString(), error: why };
      // The live rescale never happened: the history keeps the savepoint rescale recorded in this same write.
      s.rescales = s.rescales?.filter(
        (x) => !(x.mode === 'live' && !x.completedAt && x.deployment === op.targetDeploymentId),
      );
    },
  });
}

/** Records what the operation waits for (Reconciling's message) and status.migration when they changed; polls again. */
async function holdLive(
  r: ReconcilerInternals,
  c: JobCtx,
  op: PendingOperation,
  message: string,
  record?: MigrationRecord,
): StepResult {
  const same = JSON.stringify(record ?? c.job.status?.migration) === JSON.stringify(c.job.status?.migration);
  if (op.message !== message || !same)
    await r.record(c, 'live-progress', (s) => {
      if (s.pendingOperation) s.pendingOperation = { ...s.pendingOperation, message };
      if (record) s.migration = record;
      return s;
    });
  return { requeueAfter: POLL_MS };
}
