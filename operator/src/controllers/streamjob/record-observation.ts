// Observation → status, before any stage acts: replica counts, the selector, the newest
// checkpoint slot 0 reports, spec validity (Degraded/InvalidSpec + a Warning Event once per
// distinct message; a rejected spec with nothing deployed is phase Invalid, Ready False
// InvalidSpec), the sources slot 0 reports waiting for their input or partitions no slot reads
// (WaitingForInput + an Event when it turns), the dependencies any slot cannot reach (DependencyUnavailable + an
// Event when it turns: dependency-condition.ts), whether checkpoints complete within
// spec.health.checkpointTimeout (CheckpointProgress + an Event when it turns:
// health-condition.ts), each slot exception (a Warning Event, deduplicated and rate-limited:
// slot-exceptions.ts), and Ready from the pods and every slot's runtime (readiness.ts) while
// Running, and while an operation that has not touched the deployed pods yet is pending. observedGeneration is
// not written here: it follows the work (kstatus.ts), and so does Ready's own
// observedGeneration: right after `kubectl scale` or an apply the old deployment is still
// ready, and stamping that with the new generation would end `kubectl wait
// --for=condition=Ready` before the change ran.
import type { StreamJob, StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';
import type { CheckpointSummary, UnreadPartitions, WaitingForInput } from '../../../../runtime/src/control/contract.ts';
import type { JobCtx, ReconcilerInternals } from './job-context.ts';
import { jobCondition, removeJobCondition, runningMessage, setJobCondition } from './conditions.ts';
import type { JobConditionReasons } from './conditions.ts';
import { podSelector } from './objects/metadata.ts';
import { readiness, readyFollowsPods } from './readiness.ts';
import { isPodTerminal } from './objects/slot-pod.ts';
import type { Observation } from './observer.ts';
import { describeIssues, type SpecIssue } from './validation.ts';
import { dependencyState, recordDependencies } from './dependency-condition.ts';
import { recordHealth, reportHealth } from './health-condition.ts';
import { reportSlotExceptions } from './slot-exceptions.ts';
import { droppedState, recordDropped } from './records-dropped-condition.ts';

/** `topic t (source s, since …)` for each waiting source. */
export function describeWaiting(waiting: readonly WaitingForInput[]): string {
  return waiting.map((w) => `topic ${w.topic} (source ${w.source}, since ${w.since})`).join('; ');
}

/** `partitions 2, 5 of topic t (source s)` for each source with partitions no slot reads. */
export function describeUnread(unread: readonly UnreadPartitions[]): string {
  return unread.map((u) => `partitions ${u.partitions.join(', ')} of topic ${u.topic} (source ${u.source})`).join('; ');
}

/**
 * WaitingForInput as slot 0 reports it; undefined when there is nothing to say (no runtime answer). True while a
 * source waits for its topic (TopicMissing) or while partitions of a topic have no reader (PartitionsUnread: slot
 * 0's alarm, runtime exec/unowned-partitions.ts; their records wait unprocessed).
 */
export function waitingCondition(
  job: StreamJob,
  obs: Pick<Observation, 'runtime'>,
): { waiting: boolean; reason: JobConditionReasons['WaitingForInput']; message: string } | undefined {
  const rt = obs.runtime;
  if (!job.status?.deployed || rt?.state !== 'RUNNING') return undefined;
  const waiting = rt.waitingForInput ?? [];
  const unread = rt.unreadPartitions ?? [];
  const noReader = unread.length > 0 ? `no slot reads ${describeUnread(unread)}: their records are not processed` : '';
  if (waiting.length > 0) {
    const message = `waiting for ${describeWaiting(waiting)}: the job runs and reads once it exists`;
    return { waiting: true, reason: 'TopicMissing', message: noReader ? `${message}; ${noReader}` : message };
  }
  if (noReader) return { waiting: true, reason: 'PartitionsUnread', message: noReader };
  return { waiting: false, reason: 'Reading', message: 'every source reads its input' };
}

export async function recordObservation(
  r: ReconcilerInternals,
  c: JobCtx,
  issues: readonly SpecIssue[],
): Promise<void> {
  const { job, obs, now } = c;
  const gen = job.metadata.generation;
  const invalid = issues.length > 0;
  const message = invalid
    ? `spec rejected, ${job.status?.deployed ? 'the last valid spec keeps running' : 'nothing deployed'}: ${describeIssues(issues)}`
    : '';
  c.rejected = invalid ? message : undefined;
  const prevDegraded = jobCondition(job.status, 'Degraded');
  if (invalid && (prevDegraded?.reason !== 'InvalidSpec' || prevDegraded.message !== message)) {
    await r.deps.events.warning(job, 'InvalidSpec', message);
  }
  const input = waitingCondition(job, obs);
  const prevInput = jobCondition(job.status, 'WaitingForInput');
  if (input?.waiting && (prevInput?.status !== 'True' || prevInput.message !== input.message))
    await r.deps.events.warning(
      job,
      input.reason === 'PartitionsUnread' ? input.reason : 'WaitingForInput',
      input.message,
    );
  if (input && !input.waiting && prevInput?.status === 'True')
    await r.deps.events.normal(job, 'InputAvailable', input.message);
  const deps = job.status?.deployed ? dependencyState(obs) : undefined;
  const prevDeps = jobCondition(job.status, 'DependencyUnavailable');
  if (deps?.unavailable && (prevDeps?.status !== 'True' || prevDeps.reason !== deps.reason))
    await r.deps.events.warning(job, 'DependencyUnavailable', deps.message);
  if (deps && !deps.unavailable && prevDeps?.status === 'True')
    await r.deps.events.normal(job, 'DependencyAvailable', `${deps.message} again (was: ${prevDeps.message})`);
  const dropped = job.status?.deployed ? droppedState(obs) : undefined;
  const prevDropped = jobCondition(job.status, 'RecordsDropped');
  if (dropped && dropped.total > 0 && prevDropped?.message !== dropped.message)
    await r.deps.events.warning(job, 'RecordsDropped', dropped.message);
  const health = await reportHealth(r, c);
  if (job.status?.deployed) await reportSlotExceptions(r, c);
  await r.record(c, 'observe', (st) => {
    st.replicas = obs.pods.filter((p) => !isPodTerminal(p)).length;
    st.readyReplicas = obs.readyCount;
    st.selector = podSelector(job.metadata.name);
    if (!st.phase || (st.phase === 'Invalid' && !invalid))
      st.phase = job.spec.state === 'suspended' ? 'Suspended' : 'Deploying';
    const cp = obs.runtime?.lastCheckpoint;
    if (cp?.completedAt && (!st.lastCheckpoint || cp.id !== st.lastCheckpoint.id || cp.path !== st.lastCheckpoint.path))
      st.lastCheckpoint = checkpointRecord(cp);
    if (invalid) {
      setJobCondition(st, { type: 'Degraded', status: 'True', reason: 'InvalidSpec', message }, gen, now);
      st.lastError = message;
      if (!st.deployed && !st.pendingOperation) {
        st.phase = 'Invalid';
        setJobCondition(st, { type: 'Ready', status: 'False', reason: 'InvalidSpec', message }, gen, now);
      }
    } else if (prevDegraded?.reason === 'InvalidSpec') {
      setJobCondition(
        st,
        { type: 'Degraded', status: 'False', reason: 'SpecValid', message: 'the spec is valid' },
        gen,
        now,
      );
      delete st.lastError;
    }
    recordInput(st, input, gen, now);
    recordDependencies(st, deps, gen, now);
    recordDropped(st, dropped, gen, now);
    recordHealth(st, job.spec, health, gen, now);
    recordReady(st, c, gen);
    return st;
  });
}

function recordInput(
  st: StreamJobStatus,
  input: ReturnType<typeof waitingCondition>,
  gen: number | undefined,
  now: Date,
): void {
  if (!st.deployed || st.phase === 'Failed' || st.phase === 'Finished') removeJobCondition(st, 'WaitingForInput');
  else if (input)
    setJobCondition(
      st,
      {
        type: 'WaitingForInput',
        status: input.waiting ? 'True' : 'False',
        reason: input.reason,
        message: input.message,
      },
      gen,
      now,
    );
}

/**
 * Ready from the deployed pods and every slot's runtime (readiness.ts), at every reconcile: while
 * Running, and while an operation is pending that has not touched the deployed pods yet (a
 * savepoint in flight or failed and retried: the old pods are still what runs).
 */
function recordReady(st: StreamJobStatus, c: JobCtx, gen: number | undefined): void {
  const deployed = st.deployed;
  if (!deployed) return;
  const op = st.pendingOperation;
  if (op ? !readyFollowsPods(op) || st.phase === 'Failed' || st.phase === 'Finished' : st.phase !== 'Running') return;
  const r = readiness(c.obs, deployed.parallelism);
  const rejected = c.rejected ? `; generation ${gen} rejected (see Stalled)` : '';
  setJobCondition(
    st,
    r.ready
      ? {
          type: 'Ready',
          status: 'True',
          reason: 'Running',
          message: `${runningMessage(st, deployed.parallelism, deployed.id)}${rejected}`,
        }
      : { type: 'Ready', status: 'False', reason: r.reason, message: `${r.message}${rejected}` },
    gen,
    c.now,
  );
}

/** status.lastCheckpoint from slot 0's report: what the CRD declares, its sizes when reported. */
function checkpointRecord(cp: CheckpointSummary): NonNullable<StreamJobStatus['lastCheckpoint']> {
  return {
    id: cp.id,
    completedAt: cp.completedAt,
    path: cp.path,
    ...(cp.bytes !== undefined ? { bytes: cp.bytes } : {}),
    ...(cp.fullBytes !== undefined ? { fullBytes: cp.fullBytes } : {}),
  };
}
