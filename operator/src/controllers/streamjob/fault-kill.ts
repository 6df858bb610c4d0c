// TEST-ONLY fault injection, read by the operator process: with
// TRIBUTARY_FAULT_KILL_AFTER_WRITE=<namespace>/<job>:<write>[@<generation>] the process sends
// itself SIGKILL right after the reconciler's status write named <write> of that job returns
// (the names are those `record(c, write, …)` takes, status-writes.ts: intent, savepoint-triggered,
// state-ready, old-pods-gone, starting, waiting, done, …; the pending step each leaves is
// operation/advance.ts's STEPS), on the first such write made while the job's
// metadata.generation is <generation> when one is given (the operation a given spec change
// starts, and not the one the process may be finishing first). A real crash at an exact point
// of the write-ahead log, which no signal sent from outside can hit on demand; the e2e that
// kills the operator after every write of a rescale and an upgrade (operator-kill-e2e.int.test.ts)
// starts the operator with it. Nothing runs after the write: no Event, no next step, no
// graceful shutdown.
import { writeSync } from 'node:fs';
import { ErrorCodes, OperatorError } from '../../kube/errors.ts';
import type { OperationStep, StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { isStatusWrite, type StatusWrite } from './status-writes.ts';

export const FAULT_KILL_ENV = 'TRIBUTARY_FAULT_KILL_AFTER_WRITE';

export interface KillPoint {
  readonly namespace: string;
  readonly job: string;
  readonly write: StatusWrite;
  /** Only writes made while the job has this metadata.generation; any when absent. */
  readonly generation?: number;
}

/** What the process writes to stderr (one JSON line) just before it kills itself. */
export interface KillNotice {
  readonly msg: 'fault injection: SIGKILL after status write';
  readonly job: string;
  readonly write: StatusWrite;
  readonly generation: number | undefined;
  /** resourceVersion of the job as written: nothing can have written it after that. */
  readonly resourceVersion: string | undefined;
  readonly pendingStep: OperationStep | undefined;
}

const FORM = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?):([a-z][-a-z0-9]*)(@([1-9][0-9]*))?$/;

/** `<namespace>/<job>:<write>[@<generation>]`, <write> the name of a status write; '' = off. */
export function parseKillPoint(text: string): KillPoint | undefined {
  if (text.trim() === '') return undefined;
  const m = FORM.exec(text.trim());
  if (!m)
    throw new OperatorError(
      ErrorCodes.CONFIG,
      `${FAULT_KILL_ENV}: expected <namespace>/<job>:<write>[@<generation>] (e.g. team-a/clicks:state-ready@4), got ${JSON.stringify(text)}`,
    );
  const write = m[5]!;
  // A name no write has would never fire: the test would wait for a kill that cannot come.
  if (!isStatusWrite(write))
    throw new OperatorError(ErrorCodes.CONFIG, `${FAULT_KILL_ENV}: ${JSON.stringify(write)} names no status write`);
  return { namespace: m[1]!, job: m[3]!, write, ...(m[7] ? { generation: Number(m[7]) } : {}) };
}

/**
 * The reconciler's afterWrite hook for `point`: on the first write of that name of that job (at
 * that generation), a notice on stderr (written synchronously, so it is out before the process
 * dies), then `kill` (SIGKILL to this process). Other writes pass untouched.
 */
export function killAfterWrite(
  point: KillPoint,
  kill: (notice: KillNotice) => void = (notice) => {
    writeSync(2, `${JSON.stringify(notice)}\n`);
    process.kill(process.pid, 'SIGKILL');
  },
): (job: StreamJob, write: StatusWrite) => void {
  let fired = false;
  return (job, write) => {
    if (fired || write !== point.write) return;
    if (job.metadata.namespace !== point.namespace || job.metadata.name !== point.job) return;
    if (point.generation !== undefined && job.metadata.generation !== point.generation) return;
    fired = true;
    kill({
      msg: 'fault injection: SIGKILL after status write',
      job: `${point.namespace}/${point.job}`,
      write,
      generation: job.metadata.generation,
      resourceVersion: job.metadata.resourceVersion,
      pendingStep: job.status?.pendingOperation?.step,
    });
  };
}
