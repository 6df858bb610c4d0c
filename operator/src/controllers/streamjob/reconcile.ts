// The StreamJob reconcile, in stages: get → finalizer → observe → validate → record the observation →
// advance the pending operation (operation/advance.ts, where the write-ahead log of status
// is described) or decide a new one (decide-operation.ts) → record → the autoscaler (autoscaler/autoscale.ts: it
// decides on what this reconcile left, and its scale write wakes the next one). Every status write derives the
// kstatus view (observedGeneration, Reconciling, Stalled; kstatus.ts) from what it wrote.
//
// The informer cache may lag behind this process's own status writes: a cached job older
// than the last write made here is re-read, so no stage acts on a status it already replaced.
// A reconcile acts on the one generation it validated: a status write that comes back with a
// newer one (the spec changed under it) stops it, and it runs again on the new spec.
//
// Words in this controller: a stage is a part of one reconcile; a step is one write-ahead step of
// the pending operation (OperationStep, status.pendingOperation.step; one reconcile may run
// several, or none); a write is one named status write (status-writes.ts). The API's other two
// steps are always qualified: graph steps (spec.graph.steps) and migration steps
// (status.migration.steps, the runtime's).
import type { Logger } from 'pino';
import {
  addFinalizer,
  ErrorCodes,
  OperatorError,
  hasFinalizer,
  isBeingDeleted,
  isNotFound,
  type KubeObject,
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
} from '../../kube/index.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { autoscale, forgetJob, sooner, type Autoscaling } from './autoscaler/autoscale.ts';
import { AutoscalerHistories } from './autoscaler/histories.ts';
import { decide } from './decide-operation.ts';
import { loadDruidRefs, resolveDruidRefs } from './druid-refs.ts';
import type { JobCtx, ReconcilerInternals, StreamJobReconcilerDeps } from './job-context.ts';
import { deriveKstatus } from './kstatus.ts';
import { observe, unobserved, type ObserverDeps } from './observer.ts';
import { advance } from './operation/advance.ts';
import { finalize } from './operation/delete.ts';
import { backoffMs, defaultCadence, requeueFor } from './phases.ts';
import { recordObservation } from './record-observation.ts';
import { clearNotOwned, reportNotOwned } from './report-not-owned.ts';
import { finalSavepointFinalizer, StreamJobs } from './resource.ts';
import { ensureShared } from './shared-objects.ts';
import { stateCredentialsIssues } from './state-credentials.ts';
import { registryCredentialsIssues } from './registry-credentials.ts';
import { effectiveStateStorage } from './state-storage.ts';
import { durationMs, validateSpec } from './validation.ts';

/** A reconcile stopped by a spec change (SPEC_CHANGED) runs again at once; any other error propagates. */
function startOver(err: unknown, log: Logger): ReconcileResult {
  if (!(err instanceof OperatorError && err.code === ErrorCodes.SPEC_CHANGED)) throw err;
  log.info({ err }, 'the spec changed during the reconcile: starting over');
  return { requeueAfter: 1 };
}

export function streamJobReconciler(deps: StreamJobReconcilerDeps) {
  const clock = deps.now ?? (() => new Date());
  const cadence = deps.cadence ?? defaultCadence;
  /** Highest resourceVersion this process wrote per key: a cache older than that is re-read. */
  const written = new Map<string, bigint>();
  const tokens = new Map<string, string>();
  const observerDeps: ObserverDeps = { pods: deps.pods, secrets: deps.secrets, runtime: deps.runtime, tokens };
  const autoscaling: Autoscaling = { histories: new AutoscalerHistories(), metrics: deps.metrics.autoscaler };

  const rv = (o: KubeObject | undefined): bigint => {
    try {
      return BigInt(o?.metadata?.resourceVersion ?? '0');
    } catch {
      return 0n;
    }
  };

  const r: ReconcilerInternals = {
    deps,
    async record(c, write, mutate) {
      const input = { job: c.job, rejected: c.rejected, defaults: deps.defaults, now: c.now };
      const { object } = await deps.statusWriter.update<StreamJob>(StreamJobs, c.job, (prev) =>
        deriveKstatus(mutate(structuredClone(prev ?? {})), input),
      );
      const key = `${c.job.metadata.namespace}/${c.job.metadata.name}`;
      written.set(key, rv(object));
      deps.metrics.observeJob(object);
      c.log.debug({ write, phase: object.status?.phase, op: object.status?.pendingOperation?.step }, 'status recorded');
      if (deps.afterWrite) await deps.afterWrite(object, write);
      // A write that retried after a conflict carries the object as it is now. If its spec
      // moved on, every later stage would act on a spec this reconcile never validated (an
      // invalid spec deployed as valid): stop here, as a crash after this write would, and
      // reconcile the new generation from the start.
      if (object.metadata.generation !== c.job.metadata.generation)
        throw new OperatorError(
          ErrorCodes.SPEC_CHANGED,
          `${key}: generation ${c.job.metadata.generation} changed to ${object.metadata.generation} during the reconcile (write ${write}); reconciling the new one`,
        );
      c.job = object;
      return object;
    },
    runtimeBackoff(job, attempt) {
      return backoffMs(
        attempt,
        durationMs(job.spec.restartPolicy?.backoff?.initial, 5_000),
        durationMs(job.spec.restartPolicy?.backoff?.max, 300_000),
      );
    },
    after(job) {
      const ms = requeueFor(job.status?.phase, job.status?.pendingOperation !== undefined, cadence);
      return ms === undefined ? undefined : { requeueAfter: ms };
    },
    advance: (c, op) => advance(r, c, op),
    decide: (c, validSpec) => decide(r, c, validSpec),
  };

  return async (req: ReconcileRequest, ctx: ReconcileContext): Promise<ReconcileResult | void> => {
    const key = req.key;
    let job = deps.jobs.get(req.namespace, req.name);
    if (!job) {
      deps.metrics.forget(key);
      forgetJob(autoscaling, key);
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
    deps.metrics.observeJob(job);
    const log = ctx.logger.child({ streamjob: key, generation: job.metadata.generation });
    const now = clock();

    if (isBeingDeleted(job)) {
      forgetJob(autoscaling, key);
      const obs = await observe(observerDeps, job, { queryRuntime: true });
      return finalize(r, { job, log, obs, now }).catch((err: unknown) => startOver(err, log));
    }
    if (job.spec.savepoints?.onDelete !== false && !hasFinalizer(job, finalSavepointFinalizer)) {
      job = await addFinalizer(deps.kube, StreamJobs, job, finalSavepointFinalizer);
    }
    // Before the observation the context carries an empty one: only status writes use it then.
    let c: JobCtx = { job, log, obs: unobserved(), now };
    try {
      await ensureShared(deps, tokens, job, log);

      const obs = await observe(observerDeps, job, { queryRuntime: job.status?.deployed !== undefined });
      c = { job, log, obs, now };
      const issues = validateSpec(job.spec, deps.podPolicy, deps.defaults);
      // druid sinks: a reference that does not resolve makes the spec invalid (checked again
      // when the job config is written); the datasource may appear later, so look again soon.
      const refIssues =
        issues.length === 0
          ? resolveDruidRefs(
              job.spec.graph,
              await loadDruidRefs(deps.kube, job.metadata.namespace, job.spec.graph),
              job.metadata.namespace,
            ).issues
          : [];
      issues.push(...refIssues);
      // The credentials Secret may be created or labelled later: its watch wakes the job (controller.ts).
      const credIssues =
        issues.length === 0
          ? [
              ...stateCredentialsIssues(deps.credentialSecrets, job, effectiveStateStorage(job.spec, deps.defaults)),
              ...registryCredentialsIssues(deps.credentialSecrets, job),
            ]
          : [];
      issues.push(...credIssues);
      await recordObservation(r, c, issues);

      const op = c.job.status?.pendingOperation;
      const validSpec = issues.length === 0 ? c.job.spec : undefined;
      const res = op ? await r.advance(c, op) : await r.decide(c, validSpec);
      await clearNotOwned(r, c);
      const scaling = await autoscale(r, c, validSpec, autoscaling);
      if (op) return sooner(res, scaling);
      return sooner(refIssues.length + credIssues.length > 0 && !res ? { requeueAfter: 10_000 } : res, scaling);
    } catch (err) {
      if (err instanceof OperatorError && err.code === ErrorCodes.NOT_OWNED) await reportNotOwned(r, c, err);
      return startOver(err, log);
    }
  };
}
