// The StreamJob reconcile: get → finalizer → observe → validate → record → act → record.
//
// Status is the write-ahead log. Every operation that replaces or removes pods is first
// written as `status.pendingOperation` (kind, target spec + hash, target deployment id,
// where state comes from, the savepoint request id); each step below re-derives what to do
// from that record plus the observed pods, so a step run twice (an operator killed and
// restarted anywhere) is harmless:
//
//   recorded ──(savepoint: trigger with requestId → poll)──▶ state-ready (restoreFrom known,
//   recorded in status before any pod is deleted) ──(delete every pod not of the target
//   deployment; wait until gone)──▶ starting (status.deployed = target, written before the
//   first create; pods named <job>-<deploymentId>-<slot>, AlreadyExists = fine) ──(all
//   slots ready + slot 0 says RUNNING)──▶ done (pendingOperation removed, phase Running).
//
// A savepoint that fails leaves the old pods alone (nothing destructive happened yet):
// Degraded with the reason, retry with backoff, or fall back to a young checkpoint when
// onFailure says so. Before state-ready an operation may be re-planned if the spec changed.
import type { Logger } from 'pino';
import {
  addFinalizer,
  hasFinalizer,
  isAlreadyExists,
  isBeingDeleted,
  isNotFound,
  setCondition,
  type EventRecorder,
  type Informer,
  type KubeClient,
  type KubeObject,
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
  type StatusWriter,
} from '../../kube/index.ts';
import { Resources } from '../../kube/index.ts';
import type {
  OperationKind,
  PendingOperation,
  Phase,
  SavepointRecord,
  StateSource,
  StreamJob,
  StreamJobSpec,
  StreamJobStatus,
} from '../../api/v1alpha1/streamjob.ts';
import type { RuntimeClient } from '../../runtime-client/client.ts';
import { finalize } from './cleanup.ts';
import type { StreamJobMetrics } from './metrics.ts';
import { observe, slot0Url, type Observation, type ObserverDeps } from './observer.ts';
import { backoffMs, defaultCadence, requeueFor, type Cadence } from './phases.ts';
import {
  configMap,
  DEPLOYMENT_LABEL,
  deploymentId,
  finalSavepointFinalizer,
  headlessService,
  isPodReady,
  isPodTerminal,
  jobConfig,
  podSelector,
  Rbac,
  runtimeRbac,
  slotOf,
  slotPod,
  specHash,
  StreamJobs,
  tokenSecret,
  tokenSecretName,
  type Pod,
  type Secret,
} from './resources.ts';
import { addToHistory, driveSavepoint, freshCheckpoint, savepointRequestId } from './savepoints.ts';
import { classify, deployedSpec } from './spec-diff.ts';
import { describeIssues, durationMs, validateSpec } from './validation.ts';
import { loadDruidRefs, resolveDruidRefs } from './druid-refs.ts';

export interface StreamJobReconcilerDeps {
  readonly jobs: Informer<StreamJob>;
  readonly pods: Informer<Pod>;
  readonly secrets: Informer<Secret>;
  readonly services: Informer<KubeObject>;
  readonly kube: KubeClient;
  readonly statusWriter: StatusWriter;
  readonly events: EventRecorder;
  readonly runtime: RuntimeClient;
  readonly metrics: StreamJobMetrics;
  readonly defaultImage: string;
  /** Container args for the slot pods (tests run a stand-in script through `tributary/node:*`). */
  readonly containerArgs?: readonly string[];
  readonly cadence?: Cadence;
  readonly now?: () => Date;
  /** Hook for fault-injection tests: called after each status write with the step written. */
  readonly afterWrite?: (job: StreamJob, step: string) => void | Promise<void>;
}

export interface JobCtx {
  job: StreamJob;
  log: Logger;
  obs: Observation;
  now: Date;
}

export interface ReconcilerInternals {
  deps: StreamJobReconcilerDeps;
  record(c: JobCtx, step: string, mutate: (st: StreamJobStatus) => StreamJobStatus): Promise<StreamJob>;
  runtimeBackoff(job: StreamJob, attempt: number): number;
}

const PHASE_OF: Record<OperationKind, Phase> = {
  deploy: 'Deploying',
  rescale: 'Upgrading',
  upgrade: 'Upgrading',
  suspend: 'Savepointing',
  restart: 'Restarting',
  savepoint: 'Running',
  delete: 'Savepointing',
};

export function streamJobReconciler(deps: StreamJobReconcilerDeps) {
  const clock = deps.now ?? (() => new Date());
  const cadence = deps.cadence ?? defaultCadence;
  /** Highest resourceVersion this process wrote per key: a cache older than that is re-read. */
  const written = new Map<string, bigint>();
  const tokens = new Map<string, string>();
  const observerDeps: ObserverDeps = { pods: deps.pods, secrets: deps.secrets, runtime: deps.runtime, tokens };

  const rv = (o: KubeObject | undefined): bigint => {
    try {
      return BigInt(o?.metadata?.resourceVersion ?? '0');
    } catch {
      return 0n;
    }
  };

  const internals: ReconcilerInternals = {
    deps,
    async record(c, step, mutate) {
      const { object } = await deps.statusWriter.update<StreamJob>(StreamJobs, c.job, (prev) => mutate(structuredClone(prev ?? {})));
      written.set(`${c.job.metadata.namespace}/${c.job.metadata.name}`, rv(object));
      c.job = object;
      deps.metrics.setPhase(`${c.job.metadata.namespace}/${c.job.metadata.name}`, object.status?.phase);
      c.log.debug({ step, phase: object.status?.phase, op: object.status?.pendingOperation?.step }, 'status recorded');
      if (deps.afterWrite) await deps.afterWrite(object, step);
      return object;
    },
    runtimeBackoff(job, attempt) {
      return backoffMs(attempt, durationMs(job.spec.restartPolicy?.backoff?.initial, 5_000), durationMs(job.spec.restartPolicy?.backoff?.max, 300_000));
    },
  };
  const { record } = internals;

  return async (req: ReconcileRequest, ctx: ReconcileContext): Promise<ReconcileResult | void> => {
    const key = req.key;
    let job = deps.jobs.get(req.namespace, req.name);
    if (!job) {
      deps.metrics.forget(key);
      written.delete(key);
      tokens.delete(key);
      return;
    }
    const mine = written.get(key);
    if (mine !== undefined && rv(job) < mine) {
      try {
        job = await deps.kube.get<StreamJob>(StreamJobs, req.namespace, req.name);
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
    }
    const log = ctx.logger.child({ streamjob: key, generation: job.metadata.generation });
    const now = clock();

    if (isBeingDeleted(job)) {
      const obs = await observe(observerDeps, job, { queryRuntime: true });
      return finalize(internals, { job, log, obs, now });
    }
    if (job.spec.savepoints?.onDelete !== false && !hasFinalizer(job, finalSavepointFinalizer)) {
      job = await addFinalizer(deps.kube, StreamJobs, job, finalSavepointFinalizer);
    }
    await ensureShared(job, log);

    const obs = await observe(observerDeps, job, { queryRuntime: job.status?.deployed !== undefined });
    const c: JobCtx = { job, log, obs, now };
    const issues = validateSpec(job.spec);
    // druid sinks: a reference that does not resolve makes the spec invalid (checked again
    // when the job config is written); the datasource may appear later, so look again soon.
    const refIssues = issues.length === 0 ? resolveDruidRefs(job.spec.graph, await loadDruidRefs(deps.kube, job.metadata.namespace, job.spec.graph), job.metadata.namespace).issues : [];
    issues.push(...refIssues);
    await recordObservation(c, issues);

    const op = c.job.status?.pendingOperation;
    if (op) return advance(c, op);
    const res = await decide(c, issues.length === 0 ? c.job.spec : undefined);
    return refIssues.length > 0 && !res ? { requeueAfter: 10_000 } : res;
  };

  // ---- shared objects --------------------------------------------------------------

  async function ensureShared(job: StreamJob, log: Logger): Promise<void> {
    const ns = job.metadata.namespace;
    const key = `${ns}/${job.metadata.name}`;
    if (!deps.secrets.get(ns, tokenSecretName(job.metadata.name)) && !tokens.has(key)) {
      const token = randomToken();
      try {
        await deps.kube.create(Resources.Secret, tokenSecret(job, token));
        tokens.set(key, token);
        log.info('control token secret created');
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        const s = await deps.kube.get<Secret>(Resources.Secret, ns, tokenSecretName(job.metadata.name));
        const data = s.data?.token;
        if (data) tokens.set(key, Buffer.from(data, 'base64').toString('utf8'));
      }
    }
    if (!deps.services.get(ns, job.metadata.name)) await createIgnoringExists(Resources.Service, headlessService(job));
  }

  async function createIgnoringExists(rt: Parameters<KubeClient['create']>[0], obj: KubeObject): Promise<boolean> {
    try {
      await deps.kube.create(rt, obj);
      return true;
    } catch (err) {
      if (isAlreadyExists(err)) return false;
      throw err;
    }
  }

  // ---- observation → status ------------------------------------------------------------

  async function recordObservation(c: JobCtx, issues: ReturnType<typeof validateSpec>): Promise<void> {
    const { job, obs, now } = c;
    const gen = job.metadata.generation;
    const invalid = issues.length > 0;
    const message = invalid ? `spec rejected, ${job.status?.deployed ? 'the last valid spec keeps running' : 'nothing deployed'}: ${describeIssues(issues)}` : '';
    const prevDegraded = job.status?.conditions?.find((x) => x.type === 'Degraded');
    if (invalid && (prevDegraded?.reason !== 'InvalidSpec' || prevDegraded.message !== message)) {
      await deps.events.warning(job, 'InvalidSpec', message);
    }
    await record(c, 'observe', (st) => {
      st.replicas = obs.pods.filter((p) => !isPodTerminal(p)).length;
      st.readyReplicas = obs.readyCount;
      st.selector = podSelector(job.metadata.name);
      if (!st.phase) st.phase = job.spec.state === 'suspended' ? 'Suspended' : 'Deploying';
      const cp = obs.runtime?.lastCheckpoint;
      if (cp && (!st.lastCheckpoint || cp.id !== st.lastCheckpoint.id || cp.path !== st.lastCheckpoint.path)) st.lastCheckpoint = { ...cp };
      if (invalid) {
        st.conditions = setCondition(st.conditions, { type: 'Degraded', status: 'True', reason: 'InvalidSpec', message }, gen, now) as StreamJobStatus['conditions'];
        st.lastError = message;
      } else {
        if (prevDegraded?.reason === 'InvalidSpec') {
          st.conditions = setCondition(st.conditions, { type: 'Degraded', status: 'False', reason: 'SpecValid', message: 'the spec is valid' }, gen, now) as StreamJobStatus['conditions'];
          delete st.lastError;
        }
        st.observedGeneration = gen;
      }
      const deployed = st.deployed;
      if (deployed && !st.pendingOperation && st.phase === 'Running') {
        const ready = obs.readyCount === deployed.parallelism && obs.runtime?.state === 'RUNNING';
        st.conditions = setCondition(st.conditions, {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          reason: ready ? 'Running' : 'NotReady',
          message: ready ? `${deployed.parallelism} slots running deployment ${deployed.id}` : `${obs.readyCount}/${deployed.parallelism} slots ready; runtime ${obs.runtime?.state ?? obs.runtimeError ?? 'not answering'}`,
        }, gen, now) as StreamJobStatus['conditions'];
      }
      return st;
    });
  }

  // ---- deciding a new operation -----------------------------------------------------------

  async function decide(c: JobCtx, validSpec: StreamJobSpec | undefined): Promise<ReconcileResult | void> {
    const { job, obs, now } = c;
    const st = job.status ?? {};
    // Invalid spec: keep running what is deployed (restarts included); never deploy it.
    const spec = validSpec ?? deployedSpec(st);
    if (!spec) return;
    const hash = specHash(spec, deps.defaultImage);
    if (st.phase === 'Failed' && st.deployed?.specHash === hash) return; // until the spec (or restartNonce) changes

    const change = validSpec ? classify(job, validSpec, deps.defaultImage) : { kind: 'none' as const };
    const deployed = st.deployed;
    const live = deployed !== undefined && st.phase !== 'Failed' && obs.current.size > 0;

    switch (change.kind) {
      case 'none':
        break;
      case 'deploy': {
        const from = spec.restore?.savepointPath || undefined;
        return startOperation(c, 'deploy', spec, from ? 'restore' : 'stateless', from);
      }
      case 'resume':
        return startOperation(c, 'deploy', spec, 'restore', st.resumeFrom);
      case 'suspend':
        return startOperation(c, 'suspend', deployedSpec(st) ?? spec, live ? modeFor(spec) : 'restore', live ? undefined : latestRestorePoint(job));
      case 'rescale':
      case 'upgrade': {
        const mode = modeFor(spec);
        if (!live) return startOperation(c, change.kind, spec, mode === 'stateless' ? 'stateless' : 'restore', mode === 'stateless' ? undefined : latestRestorePoint(job));
        return startOperation(c, change.kind, spec, mode);
      }
      case 'savepoint':
        if (live) return startOperation(c, 'savepoint', spec, 'savepoint');
        break;
    }
    if (!deployed || st.phase === 'Failed') return;

    // Steady state: any slot gone or failed, or the runtime FAILED → restart all slots.
    if (obs.failedSlots.length > 0 || obs.runtime?.state === 'FAILED') {
      const why = obs.runtime?.state === 'FAILED' ? `runtime reports FAILED${obs.runtime.error ? `: ${obs.runtime.error}` : ''}` : `slot(s) ${obs.failedSlots.join(',')} failed or vanished${podFailure(obs)}`;
      return startRestart(c, why);
    }
    if (st.phase !== 'Running' && obs.readyCount === deployed.parallelism && obs.runtime?.state === 'RUNNING') {
      await record(c, 'running', (s) => ({ ...s, phase: 'Running' }));
    }
    void now;
    return after(c.job);
  }

  function modeFor(spec: StreamJobSpec): StateSource {
    return spec.upgradeMode === 'stateless' ? 'stateless' : spec.upgradeMode === 'last-state' ? 'last-state' : 'savepoint';
  }

  function after(job: StreamJob): ReconcileResult | void {
    const ms = requeueFor(job.status?.phase, job.status?.pendingOperation !== undefined, cadence);
    return ms === undefined ? undefined : { requeueAfter: ms };
  }

  async function startOperation(c: JobCtx, kind: OperationKind, spec: StreamJobSpec, mode: StateSource, restoreFrom?: string, extra: Partial<PendingOperation> = {}): Promise<ReconcileResult | void> {
    const { job, now } = c;
    const st = job.status ?? {};
    const counter = (st.deploymentCounter ?? 0) + 1;
    const hash = specHash(spec, deps.defaultImage);
    const deploys = kind !== 'suspend' && kind !== 'savepoint' && kind !== 'delete';
    const op: PendingOperation = {
      kind,
      targetSpecHash: hash,
      ...(deploys ? { targetDeploymentId: deploymentId(hash, counter), targetSpec: JSON.stringify(spec) } : {}),
      mode,
      ...(mode === 'savepoint' ? { savepointRequestId: savepointRequestId(job, kind, counter, 1) } : {}),
      ...(restoreFrom ? { restoreFrom } : {}),
      attempt: 1,
      startedAt: now.toISOString(),
      step: 'recorded',
      ...extra,
    };
    await record(c, 'intent', (s) => {
      s.pendingOperation = op;
      s.deploymentCounter = counter;
      s.phase = mode === 'savepoint' && kind !== 'savepoint' ? 'Savepointing' : PHASE_OF[kind];
      s.conditions = setCondition(s.conditions, { type: 'Progressing', status: 'True', reason: pascal(kind), message: describeOp(op) }, job.metadata.generation, now) as StreamJobStatus['conditions'];
      return s;
    });
    c.log.info({ op }, 'operation recorded');
    await deps.events.normal(c.job, `${pascal(kind)}Started`, describeOp(op));
    return advance(c, op);
  }

  async function startRestart(c: JobCtx, why: string): Promise<ReconcileResult | void> {
    const { job, now } = c;
    const st = job.status ?? {};
    const restarts = (st.restarts ?? 0) + 1;
    const max = job.spec.restartPolicy?.maxRestarts ?? 10;
    const spec = deployedSpec(st) ?? job.spec;
    if (restarts > max) {
      await deletePods(c, c.obs.pods);
      await record(c, 'failed', (s) => {
        s.phase = 'Failed';
        s.lastError = `${why}; gave up after ${max} restarts`;
        s.conditions = setCondition(s.conditions, { type: 'Ready', status: 'False', reason: 'Failed', message: s.lastError }, job.metadata.generation, now) as StreamJobStatus['conditions'];
        s.conditions = setCondition(s.conditions, { type: 'Degraded', status: 'True', reason: 'MaxRestartsExceeded', message: s.lastError }, job.metadata.generation, now) as StreamJobStatus['conditions'];
        return s;
      });
      await deps.events.warning(c.job, 'Failed', `${why}; gave up after ${max} restarts (change the spec or restartNonce to try again)`);
      return;
    }
    deps.metrics.restarts.inc();
    const delay = internals.runtimeBackoff(job, restarts);
    await record(c, 'restart-count', (s) => {
      s.restarts = restarts;
      s.lastError = why;
      s.conditions = setCondition(s.conditions, { type: 'Degraded', status: 'True', reason: 'SlotFailed', message: `${why}; restart ${restarts}/${max} in ${Math.round(delay / 1000)}s` }, job.metadata.generation, now) as StreamJobStatus['conditions'];
      return s;
    });
    await deps.events.warning(c.job, 'SlotFailed', `${why}; restarting all slots from the latest checkpoint (restart ${restarts}/${max})`);
    return startOperation(c, 'restart', spec, 'restore', latestRestorePoint(c.job), { notBefore: new Date(now.getTime() + delay).toISOString(), message: why });
  }

  /**
   * Start of the deployed lineage: state triggered since then belongs to it. A deployment that
   * itself resolved the newest state (restoreLatestSince) continues the lineage it restored.
   */
  function lineageSince(job: StreamJob): string | undefined {
    const d = job.status?.deployed;
    return d ? (d.restoreLatestSince ?? d.startedAt) : undefined;
  }

  /** The newest state of the deployed job: a checkpoint or savepoint taken since it started, else what it restored from. */
  function latestRestorePoint(job: StreamJob): string | undefined {
    const st = job.status ?? {};
    const started = Date.parse(st.deployed?.startedAt ?? '1970-01-01T00:00:00Z');
    const candidates: { path: string; at: number }[] = [];
    if (st.lastCheckpoint?.path) candidates.push({ path: st.lastCheckpoint.path, at: Date.parse(st.lastCheckpoint.completedAt) });
    for (const s of st.savepoints ?? []) candidates.push({ path: s.path, at: Date.parse(s.completedAt) });
    const newest = candidates.filter((x) => x.at >= started).sort((a, b) => b.at - a.at)[0];
    return newest?.path ?? st.deployed?.restoredFrom ?? st.resumeFrom;
  }

  // ---- advancing the pending operation ------------------------------------------------------

  async function advance(c: JobCtx, op: PendingOperation): Promise<ReconcileResult | void> {
    const gen = () => c.job.metadata.generation;
    if (op.kind === 'savepoint') return manualSavepoint(c, op);
    if (op.kind === 'delete') return after(c.job); // only the finalizer path drives it

    // A: where the new pods' state comes from. Nothing destructive has happened before this.
    if (op.step === 'recorded' || op.step === 'savepoint-triggered' || op.step === 'savepoint-failed') {
      if (op.notBefore && Date.parse(op.notBefore) > c.now.getTime() && op.mode === 'savepoint') {
        const replanned = await maybeReplan(c, op);
        if (replanned !== false) return replanned;
        return { requeueAfter: Math.max(200, Date.parse(op.notBefore) - c.now.getTime()) };
      }
      if (op.step !== 'savepoint-triggered') {
        const replanned = await maybeReplan(c, op);
        if (replanned !== false) return replanned;
      }
      let restoreFrom = op.restoreFrom;
      let mode = op.mode ?? 'stateless';
      if (mode === 'last-state') {
        const cp = c.obs.runtime?.lastCheckpoint?.path ?? latestRestorePoint(c.job);
        if (!cp) mode = 'savepoint'; // nothing checkpointed yet: keep the state with a savepoint instead
        else restoreFrom = cp;
      }
      if (mode === 'savepoint' && c.obs.current.size === 0) {
        // Nothing runs to take a savepoint from: the newest retained state, never empty by accident.
        restoreFrom = latestRestorePoint(c.job);
        mode = 'restore';
      }
      if (mode === 'savepoint') {
        const opNow = { ...op, savepointRequestId: op.savepointRequestId ?? savepointRequestId(c.job, op.kind, c.job.status?.deploymentCounter ?? 0, op.attempt ?? 1) };
        const p = await driveSavepoint(deps.runtime, c.job, opNow, c.obs, true, c.now);
        if (p.state === 'triggered') {
          await record(c, 'savepoint-triggered', (s) => {
            s.pendingOperation = { ...opNow, savepointId: p.id, step: 'savepoint-triggered' };
            s.phase = 'Savepointing';
            s.conditions = setCondition(s.conditions, { type: 'SavepointInProgress', status: 'True', reason: 'Triggered', message: `stop-with-savepoint ${p.id} for ${op.kind}` }, gen(), c.now) as StreamJobStatus['conditions'];
            return s;
          });
          await deps.events.normal(c.job, 'SavepointTriggered', `stop-with-savepoint ${p.id} (${op.kind})`);
          return { requeueAfter: 300 };
        }
        if (p.state === 'in-progress') return { requeueAfter: 500 };
        if (p.state === 'completed') {
          const took = (c.now.getTime() - Date.parse(op.startedAt)) / 1000;
          deps.metrics.savepointDuration.observe({ result: 'completed', reason: op.kind }, took);
          let dropped: SavepointRecord[] = [];
          await record(c, 'state-ready', (s) => {
            const h = addToHistory(s.savepoints, { id: p.id, path: p.path, reason: op.kind, parallelism: s.deployed?.parallelism ?? 0, completedAt: c.now.toISOString() }, c.job.spec.savepoints?.historyLimit ?? 10);
            s.savepoints = h.kept;
            dropped = h.dropped;
            s.pendingOperation = { ...opNow, savepointId: p.id, restoreFrom: p.path, step: 'state-ready', stoppedAt: c.now.toISOString() };
            delete s.pendingOperation.message;
            s.phase = PHASE_OF[op.kind];
            s.conditions = setCondition(s.conditions, { type: 'SavepointInProgress', status: 'False', reason: 'Completed', message: `savepoint ${p.id} at ${p.path}` }, gen(), c.now) as StreamJobStatus['conditions'];
            if (s.conditions?.find((x) => x.type === 'Degraded' && x.status === 'True' && x.reason !== 'InvalidSpec')) {
              s.conditions = setCondition(s.conditions, { type: 'Degraded', status: 'False', reason: 'SavepointCompleted', message: `savepoint ${p.id} completed` }, gen(), c.now) as StreamJobStatus['conditions'];
            }
            return s;
          });
          await deps.events.normal(c.job, 'SavepointCompleted', `savepoint ${p.id} at ${p.path} (${op.kind}, ${took.toFixed(1)}s)`);
          await disposeDropped(c, dropped);
          return advance(c, c.job.status!.pendingOperation!);
        }
        // failed
        deps.metrics.savepointDuration.observe({ result: 'failed', reason: op.kind }, (c.now.getTime() - Date.parse(op.startedAt)) / 1000);
        const cp = c.job.spec.savepoints?.onFailure === 'fallbackToCheckpoint' ? freshCheckpoint(c.job, c.obs, c.now) : undefined;
        if (cp) {
          await record(c, 'state-ready', (s) => {
            s.pendingOperation = { ...opNow, restoreFrom: cp.path, step: 'state-ready', stoppedAt: c.now.toISOString(), message: `${p.reason}: ${p.message}; using checkpoint ${cp.path}` };
            s.conditions = setCondition(s.conditions, { type: 'SavepointInProgress', status: 'False', reason: p.reason, message: p.message }, gen(), c.now) as StreamJobStatus['conditions'];
            s.conditions = setCondition(s.conditions, { type: 'Degraded', status: 'True', reason: 'SavepointFailedUsedCheckpoint', message: `${p.message}; restoring checkpoint ${cp.path} (completed ${cp.completedAt})` }, gen(), c.now) as StreamJobStatus['conditions'];
            return s;
          });
          await deps.events.warning(c.job, 'SavepointFailedUsedCheckpoint', `${p.message}; falling back to checkpoint ${cp.path} (completed ${cp.completedAt}, within maxCheckpointAge)`);
          return advance(c, c.job.status!.pendingOperation!);
        }
        const attempt = (op.attempt ?? 1) + 1;
        const delay = internals.runtimeBackoff(c.job, attempt - 1);
        const why = `${p.reason}: ${p.message}`;
        await record(c, 'savepoint-failed', (s) => {
          s.pendingOperation = {
            ...opNow,
            attempt,
            savepointRequestId: savepointRequestId(c.job, op.kind, s.deploymentCounter ?? 0, attempt),
            step: 'savepoint-failed',
            notBefore: new Date(c.now.getTime() + delay).toISOString(),
            message: why,
          };
          delete s.pendingOperation.savepointId;
          s.phase = 'Running';
          s.lastError = why;
          s.conditions = setCondition(s.conditions, { type: 'SavepointInProgress', status: 'False', reason: p.reason, message: p.message }, gen(), c.now) as StreamJobStatus['conditions'];
          s.conditions = setCondition(s.conditions, {
            type: 'Degraded',
            status: 'True',
            reason: p.reason,
            message: `savepoint before ${op.kind} failed, the old pods keep running; retry ${attempt} in ${Math.round(delay / 1000)}s: ${p.message}`,
          }, gen(), c.now) as StreamJobStatus['conditions'];
          return s;
        });
        await deps.events.warning(c.job, 'SavepointFailed', `${op.kind} blocked, old pods keep running: ${why} (retry in ${Math.round(delay / 1000)}s)`);
        return { requeueAfter: delay };
      }
      // last-state, stateless, restore: state is known now.
      if (mode === 'restore' && !restoreFrom && op.kind !== 'deploy' && c.job.status?.deployed) {
        c.log.warn({ op }, 'no checkpoint or savepoint to restore: the job starts empty (it never completed one)');
      }
      // last-state and restarts continue the running lineage: its pods may still complete
      // checkpoints (and commit their transactions) until they are gone, so the new pods pick
      // the newest one themselves when they start; restoreFrom is only the fallback.
      const since = mode === 'last-state' || (mode === 'restore' && op.kind !== 'deploy') ? lineageSince(c.job) : undefined;
      await record(c, 'state-ready', (s) => {
        s.pendingOperation = { ...op, mode, step: 'state-ready', stoppedAt: c.now.toISOString() };
        if (restoreFrom) s.pendingOperation.restoreFrom = restoreFrom;
        else delete s.pendingOperation.restoreFrom;
        if (since) s.pendingOperation.restoreLatestSince = since;
        else delete s.pendingOperation.restoreLatestSince;
        return s;
      });
      op = c.job.status!.pendingOperation!;
    }

    // B: old pods go (every pod that is not of the target deployment), and we wait until gone.
    const target = op.targetDeploymentId;
    const old = c.obs.pods.filter((p) => p.metadata?.labels?.[DEPLOYMENT_LABEL] !== target);
    if (op.step === 'state-ready') {
      if (old.length > 0) {
        await deletePods(c, old);
        return { requeueAfter: 300 };
      }
      await record(c, 'old-pods-gone', (s) => {
        s.pendingOperation = { ...op, step: 'old-pods-gone' };
        if (op.kind !== 'suspend') s.phase = op.kind === 'restart' ? 'Restarting' : op.kind === 'deploy' ? 'Deploying' : 'Upgrading';
        return s;
      });
      op = c.job.status!.pendingOperation!;
    }

    if (op.kind === 'suspend') {
      await record(c, 'suspended', (s) => {
        delete s.pendingOperation;
        delete s.deployed;
        if (op.restoreFrom) s.resumeFrom = op.restoreFrom;
        s.phase = 'Suspended';
        s.replicas = 0;
        s.readyReplicas = 0;
        s.conditions = setCondition(s.conditions, { type: 'Ready', status: 'False', reason: 'Suspended', message: `suspended; resumes from ${op.restoreFrom ?? 'empty state'}` }, gen(), c.now) as StreamJobStatus['conditions'];
        s.conditions = setCondition(s.conditions, { type: 'Progressing', status: 'False', reason: 'Suspended', message: 'no pods' }, gen(), c.now) as StreamJobStatus['conditions'];
        return s;
      });
      deps.metrics.operations.inc({ kind: 'suspend', result: 'completed' });
      await deps.events.normal(c.job, 'Suspended', `pods removed; resumes from ${op.restoreFrom ?? 'empty state'}`);
      return;
    }
    if (op.notBefore && op.kind === 'restart' && Date.parse(op.notBefore) > c.now.getTime()) {
      return { requeueAfter: Date.parse(op.notBefore) - c.now.getTime() };
    }
    if (!target || !op.targetSpec) throw new Error(`pending ${op.kind} has no target deployment`);
    const spec = JSON.parse(op.targetSpec) as StreamJobSpec;

    // C: record the target as deployed (before the first create), then create what is missing.
    if (op.step === 'old-pods-gone') {
      for (const o of runtimeRbac(c.job)) {
        const rt = o.kind === 'ServiceAccount' ? Rbac.ServiceAccount : o.kind === 'Role' ? Rbac.Role : Rbac.RoleBinding;
        await createIgnoringExists(rt, o);
      }
      const ns = c.job.metadata.namespace as string;
      const druid = resolveDruidRefs(spec.graph, await loadDruidRefs(deps.kube, ns, spec.graph), ns);
      if (druid.issues.length > 0) throw new Error(`cannot write the job config: ${describeIssues(druid.issues)}`);
      await createIgnoringExists(Resources.ConfigMap, configMap(c.job, target, jobConfig(c.job, spec, spec.replicas, op.restoreFrom, druid.graph, op.restoreLatestSince)));
      await record(c, 'starting', (s) => {
        s.deployed = {
          id: target,
          specHash: op.targetSpecHash,
          parallelism: spec.replicas,
          ...(op.restoreFrom ? { restoredFrom: op.restoreFrom } : {}),
          ...(op.restoreLatestSince ? { restoreLatestSince: op.restoreLatestSince } : {}),
          startedAt: c.now.toISOString(),
          spec: op.targetSpec!,
        };
        s.pendingOperation = { ...op, step: 'starting' };
        if (op.kind !== 'restart') s.restarts = 0;
        delete s.resumeFrom;
        return s;
      });
      op = c.job.status!.pendingOperation!;
    }
    const mine = c.obs.pods.filter((p) => p.metadata?.labels?.[DEPLOYMENT_LABEL] === target);
    const have = new Map(mine.map((p) => [slotOf(p), p]));
    const image = spec.image || deps.defaultImage;
    let created = 0;
    for (let slot = 0; slot < spec.replicas; slot++) {
      if (have.has(slot)) continue;
      const pod = slotPod({ job: c.job, spec, depId: target, slot, parallelism: spec.replicas, image });
      if (deps.containerArgs) ((pod.spec!.containers as Record<string, unknown>[])[0]!).args = [...deps.containerArgs];
      if (await createIgnoringExists(Resources.Pod, pod)) created++;
    }
    if (created > 0) {
      c.log.info({ deployment: target, created }, 'slot pods created');
      const restoring = op.restoreLatestSince ? `the newest checkpoint since ${op.restoreLatestSince} (else ${op.restoreFrom ?? 'empty state'})` : (op.restoreFrom ?? 'nothing (empty state)');
      await deps.events.normal(c.job, 'PodsCreated', `deployment ${target}: ${created} slot pod(s) created, restoring ${restoring}`);
      return { requeueAfter: 300 };
    }

    // D: running once every slot is ready and slot 0 reports RUNNING for this deployment.
    const failed = mine.filter((p) => isPodTerminal(p) && slotOf(p) < spec.replicas);
    if (failed.length > 0) {
      const why = `slot(s) ${failed.map(slotOf).join(',')} of new deployment ${target} failed${podFailure({ ...c.obs, current: have })}`;
      return startRestart(c, why);
    }
    const ready = mine.filter((p) => isPodReady(p) && slotOf(p) < spec.replicas).length;
    const rt = c.obs.deploymentId === target ? c.obs.runtime : undefined;
    if (ready < spec.replicas || rt?.state !== 'RUNNING') {
      await record(c, 'waiting', (s) => ({ ...s, readyReplicas: ready }));
      return { requeueAfter: 300 };
    }
    const downtime = op.stoppedAt ? (c.now.getTime() - Date.parse(op.stoppedAt)) / 1000 : undefined;
    await record(c, 'done', (s) => {
      delete s.pendingOperation;
      // What the pods restored (they resolve restoreLatest themselves); later restarts fall back to it.
      if (s.deployed && rt.restoredFrom) s.deployed.restoredFrom = rt.restoredFrom;
      s.phase = 'Running';
      s.readyReplicas = ready;
      s.conditions = setCondition(s.conditions, { type: 'Ready', status: 'True', reason: 'Running', message: `${spec.replicas} slots running deployment ${target}` }, gen(), c.now) as StreamJobStatus['conditions'];
      s.conditions = setCondition(s.conditions, { type: 'Progressing', status: 'False', reason: `${pascal(op.kind)}Completed`, message: describeOp(op) }, gen(), c.now) as StreamJobStatus['conditions'];
      const d = s.conditions?.find((x) => x.type === 'Degraded');
      if (d?.status === 'True' && d.reason !== 'InvalidSpec') {
        s.conditions = setCondition(s.conditions, { type: 'Degraded', status: 'False', reason: 'Recovered', message: `deployment ${target} running` }, gen(), c.now) as StreamJobStatus['conditions'];
        delete s.lastError;
      }
      return s;
    });
    deps.metrics.operations.inc({ kind: op.kind, result: 'completed' });
    if (downtime !== undefined && op.kind !== 'deploy') deps.metrics.rescaleDowntime.observe({ kind: op.kind }, downtime);
    c.log.info({ kind: op.kind, deployment: target, downtimeSeconds: downtime }, 'operation completed');
    await deps.events.normal(c.job, 'Running', `deployment ${target} running with ${spec.replicas} slot(s) after ${op.kind}${downtime !== undefined && op.kind !== 'deploy' ? ` (processing stopped for ${downtime.toFixed(2)}s)` : ''}`);
    return after(c.job);
  }

  /**
   * Before anything destructive (no savepoint in flight), a changed spec replaces the
   * operation, so a blocked upgrade never dead-ends: fix the spec, suspend, or change mode.
   */
  async function maybeReplan(c: JobCtx, op: PendingOperation): Promise<ReconcileResult | void | false> {
    if (op.kind === 'restart' || op.kind === 'deploy') return false;
    const issues = validateSpec(c.job.spec);
    if (issues.length > 0) return false;
    const spec = c.job.spec;
    const wantsSuspend = spec.state === 'suspended';
    const sameTarget = op.kind === 'suspend' ? wantsSuspend : !wantsSuspend && specHash(spec, deps.defaultImage) === op.targetSpecHash;
    const mode = modeFor(spec);
    if (sameTarget && (op.mode === mode || op.mode === 'restore')) return false;
    c.log.info({ op }, 'spec changed before the operation did anything destructive: re-planning');
    await record(c, 'replan', (s) => {
      delete s.pendingOperation;
      return s;
    });
    await deps.events.normal(c.job, 'Replanned', `${op.kind} superseded by a spec change before any pod was touched`);
    return decide(c, spec);
  }

  async function manualSavepoint(c: JobCtx, op: PendingOperation): Promise<ReconcileResult | void> {
    const gen = c.job.metadata.generation;
    if (op.notBefore && Date.parse(op.notBefore) > c.now.getTime()) return { requeueAfter: Date.parse(op.notBefore) - c.now.getTime() };
    const nonce = c.job.spec.savepointNonce ?? 0;
    const p = await driveSavepoint(deps.runtime, c.job, op, c.obs, false, c.now);
    if (p.state === 'triggered') {
      await record(c, 'savepoint-triggered', (s) => {
        s.pendingOperation = { ...op, savepointId: p.id, step: 'savepoint-triggered' };
        s.conditions = setCondition(s.conditions, { type: 'SavepointInProgress', status: 'True', reason: 'Triggered', message: `savepoint ${p.id} (savepointNonce ${nonce})` }, gen, c.now) as StreamJobStatus['conditions'];
        return s;
      });
      await deps.events.normal(c.job, 'SavepointTriggered', `savepoint ${p.id} (savepointNonce ${nonce})`);
      return { requeueAfter: 300 };
    }
    if (p.state === 'in-progress') return { requeueAfter: 500 };
    if (p.state === 'completed') {
      deps.metrics.savepointDuration.observe({ result: 'completed', reason: 'manual' }, (c.now.getTime() - Date.parse(op.startedAt)) / 1000);
      let dropped: SavepointRecord[] = [];
      await record(c, 'savepoint-done', (s) => {
        const h = addToHistory(s.savepoints, { id: p.id, path: p.path, reason: 'manual', parallelism: s.deployed?.parallelism ?? 0, completedAt: c.now.toISOString() }, c.job.spec.savepoints?.historyLimit ?? 10);
        s.savepoints = h.kept;
        dropped = h.dropped;
        s.savepointNonce = nonce;
        delete s.pendingOperation;
        s.phase = 'Running';
        s.conditions = setCondition(s.conditions, { type: 'SavepointInProgress', status: 'False', reason: 'Completed', message: `savepoint ${p.id} at ${p.path}` }, gen, c.now) as StreamJobStatus['conditions'];
        return s;
      });
      await deps.events.normal(c.job, 'SavepointCompleted', `savepoint ${p.id} at ${p.path} (manual)`);
      await disposeDropped(c, dropped);
      return after(c.job);
    }
    const attempt = (op.attempt ?? 1) + 1;
    const giveUp = attempt > 3;
    const delay = internals.runtimeBackoff(c.job, attempt - 1);
    await record(c, 'savepoint-failed', (s) => {
      if (giveUp) {
        delete s.pendingOperation;
        s.savepointNonce = nonce;
      } else {
        s.pendingOperation = { ...op, attempt, savepointRequestId: savepointRequestId(c.job, 'savepoint', s.deploymentCounter ?? 0, attempt), notBefore: new Date(c.now.getTime() + delay).toISOString(), step: 'savepoint-failed', message: p.message };
        delete s.pendingOperation.savepointId;
      }
      s.conditions = setCondition(s.conditions, { type: 'SavepointInProgress', status: 'False', reason: p.reason, message: p.message }, gen, c.now) as StreamJobStatus['conditions'];
      return s;
    });
    await deps.events.warning(c.job, 'SavepointFailed', `manual savepoint: ${p.reason}: ${p.message}${giveUp ? ' (gave up after 3 attempts)' : ` (retry in ${Math.round(delay / 1000)}s)`}`);
    return giveUp ? after(c.job) : { requeueAfter: delay };
  }

  async function deletePods(c: JobCtx, pods: readonly Pod[]): Promise<void> {
    for (const p of pods) {
      if (p.metadata?.deletionTimestamp) continue;
      try {
        await deps.kube.delete(Resources.Pod, p.metadata?.namespace, p.metadata?.name ?? '', { preconditions: { uid: p.metadata?.uid ?? '' } });
      } catch (err) {
        if (!isNotFound(err) && !isConflictish(err)) throw err;
      }
    }
    c.log.info({ pods: pods.map((p) => p.metadata?.name) }, 'old pods deleted');
  }

  /**
   * Savepoint folders beyond historyLimit (already gone from status): slot 0 of the job that
   * just took the newest one deletes them (DELETE /v1/savepoints/{sp-<n>}; after a stop it
   * keeps serving until its pod is deleted). Best effort and idempotent: a folder that could
   * not be deleted is reported in a Warning Event and never blocks the operation (status no
   * longer names it, so nothing restores from it).
   */
  async function disposeDropped(c: JobCtx, dropped: readonly SavepointRecord[]): Promise<void> {
    const base = slot0Url(c.obs);
    for (const sp of dropped) {
      const folder = sp.path.split('/').filter(Boolean).at(-1) ?? '';
      if (!/^sp-\d+$/.test(folder)) continue; // a user-provided restore path: not ours to delete
      try {
        if (!base || !c.obs.token) throw new Error('slot 0 has no pod IP');
        await deps.runtime.deleteSavepoint(base, c.obs.token, folder);
        c.log.info({ path: sp.path }, 'savepoint beyond historyLimit deleted');
      } catch (err) {
        c.log.warn({ path: sp.path, err: (err as Error).message }, 'could not delete a savepoint beyond historyLimit');
        await deps.events.warning(c.job, 'SavepointNotDeleted', `savepoint ${sp.path} is beyond savepoints.historyLimit but could not be deleted: ${(err as Error).message}`);
      }
    }
  }
}

function isConflictish(err: unknown): boolean {
  const code = (err as { statusCode?: number }).statusCode;
  return code === 409;
}

function podFailure(obs: Observation): string {
  for (const p of obs.current.values()) {
    if (!isPodTerminal(p)) continue;
    const t = p.status?.containerStatuses?.[0]?.state?.terminated;
    if (t) return ` (pod ${p.metadata?.name}: ${t.reason ?? 'terminated'}, exit ${t.exitCode ?? '?'}${t.message ? `: ${t.message.slice(0, 200)}` : ''})`;
  }
  return '';
}

export function describeOp(op: PendingOperation): string {
  const state = op.mode === 'savepoint' ? 'stop-with-savepoint' : op.mode === 'last-state' ? 'latest checkpoint' : op.mode === 'restore' ? `restore ${op.restoreFrom ?? '(nothing)'}` : 'no state';
  return `${op.kind}${op.targetDeploymentId ? ` to deployment ${op.targetDeploymentId}` : ''} (${state})`;
}

export function pascal(s: string): string {
  return s.split(/[-_]/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

function randomToken(): string {
  return globalThis.crypto.getRandomValues(new Uint8Array(24)).reduce((a, b) => a + b.toString(16).padStart(2, '0'), '');
}
