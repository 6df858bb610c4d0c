// Observation → status, before any step acts: replica counts, the selector, the newest
// checkpoint slot 0 reports, spec validity (Degraded/InvalidSpec + a Warning Event once per
// distinct message; observedGeneration only advances for a valid spec), and Ready while
// Running with nothing pending and nothing new asked for. Ready carries the generation it was
// judged at, so `kubectl wait --for=condition=Ready` after `kubectl scale` or an apply waits
// for the change: right after it the old deployment is still ready, and stamping that with
// the new generation would end the wait before the change ran.
import type { JobCtx, ReconcilerInternals } from './job-context.ts';
import { jobCondition, setJobCondition } from './conditions.ts';
import { podSelector } from './objects/metadata.ts';
import { isPodTerminal } from './objects/slot-pod.ts';
import { classify } from './spec-diff.ts';
import { describeIssues, type SpecIssue } from './validation.ts';

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
  const prevDegraded = jobCondition(job.status, 'Degraded');
  if (invalid && (prevDegraded?.reason !== 'InvalidSpec' || prevDegraded.message !== message)) {
    await r.deps.events.warning(job, 'InvalidSpec', message);
  }
  await r.record(c, 'observe', (st) => {
    st.replicas = obs.pods.filter((p) => !isPodTerminal(p)).length;
    st.readyReplicas = obs.readyCount;
    st.selector = podSelector(job.metadata.name);
    if (!st.phase) st.phase = job.spec.state === 'suspended' ? 'Suspended' : 'Deploying';
    const cp = obs.runtime?.lastCheckpoint;
    if (cp?.completedAt && (!st.lastCheckpoint || cp.id !== st.lastCheckpoint.id || cp.path !== st.lastCheckpoint.path))
      st.lastCheckpoint = { ...cp };
    if (invalid) {
      setJobCondition(st, { type: 'Degraded', status: 'True', reason: 'InvalidSpec', message }, gen, now);
      st.lastError = message;
    } else {
      if (prevDegraded?.reason === 'InvalidSpec') {
        setJobCondition(
          st,
          { type: 'Degraded', status: 'False', reason: 'SpecValid', message: 'the spec is valid' },
          gen,
          now,
        );
        delete st.lastError;
      }
      st.observedGeneration = gen;
    }
    const deployed = st.deployed;
    const settled = invalid || classify({ ...job, status: st }, job.spec, r.deps.defaultImage).kind === 'none';
    if (deployed && !st.pendingOperation && st.phase === 'Running' && settled) {
      const ready = obs.readyCount === deployed.parallelism && obs.runtime?.state === 'RUNNING';
      setJobCondition(
        st,
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          reason: ready ? 'Running' : 'NotReady',
          message: ready
            ? `${deployed.parallelism} slots running deployment ${deployed.id}`
            : `${obs.readyCount}/${deployed.parallelism} slots ready; runtime ${obs.runtime?.state ?? obs.runtimeError ?? 'not answering'}`,
        },
        gen,
        now,
      );
    }
    return st;
  });
}
