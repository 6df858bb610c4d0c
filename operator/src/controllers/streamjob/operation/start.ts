// The first write-ahead step of every operation but delete: the intent (step `recorded`,
// status write `intent`) is in status before anything acts — kind, target spec and hash, the
// target deployment id `<hash8>-<counter>` (for kinds that deploy), where state comes from, and
// the savepoint requestId — then the operation advances. `alsoRecord` adds the caller's own
// status changes to that same write, so no reader sees them without the operation they belong to.
import type {
  OperationKind,
  PendingOperation,
  StateSource,
  StreamJobSpec,
  StreamJobStatus,
} from '../../../api/v1alpha1/streamjob.ts';
import { operationName, setJobCondition } from '../conditions.ts';
import type { JobCtx, ReconcilerInternals, StepResult } from '../job-context.ts';
import { savepointRequestId } from './savepoints.ts';
import { deploymentId, specHash } from '../spec/hash.ts';
import { describeOp, PHASE_OF } from './kinds.ts';
import { recordRescaleStart } from './rescale-history.ts';

/** An operation to start. */
export interface OperationStart {
  kind: OperationKind;
  /** The spec the operation brings up (for a suspend or a savepoint: the deployed one). */
  spec: StreamJobSpec;
  /** Where the new pods' state comes from. */
  mode: StateSource;
  /** The state to restore (mode restore; the fallback of restoreLatestSince); none = empty. */
  restoreFrom?: string | undefined;
  /** More fields of the pending operation (a restart's notBefore, a resume's restoreLatest, a periodic trigger). */
  extra?: Partial<PendingOperation>;
  /** The caller's own status changes, made in the same write as the intent. */
  alsoRecord?: (s: StreamJobStatus) => void;
}

export async function startOperation(
  r: ReconcilerInternals,
  c: JobCtx,
  { kind, spec, mode, restoreFrom, extra = {}, alsoRecord }: OperationStart,
): StepResult {
  const { job, now } = c;
  const st = job.status ?? {};
  const counter = (st.deploymentCounter ?? 0) + 1;
  const hash = specHash(spec, r.deps.defaults);
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
  await r.record(c, 'intent', (s) => {
    s.pendingOperation = op;
    s.deploymentCounter = counter;
    s.phase = mode === 'savepoint' && kind !== 'savepoint' ? 'Savepointing' : PHASE_OF[kind];
    setJobCondition(
      s,
      { type: 'Progressing', status: 'True', reason: operationName(kind), message: describeOp(op) },
      job.metadata.generation,
      now,
    );
    recordRescaleStart(s, op, spec.replicas, now);
    alsoRecord?.(s);
    return s;
  });
  c.log.info({ op }, 'operation recorded');
  await r.deps.events.normal(c.job, `${operationName(kind)}Started`, describeOp(op));
  return r.advance(c, op);
}
