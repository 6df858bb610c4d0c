// RecordsDropped: records the job graph's steps dropped because an expression (or a function of
// the job's code) failed on them and the graph step has no errorOutput (onRecordError: skip, the
// default), from every answering slot's `recordsDropped` in GET /v1/status, summed per graph
// step. True once a slot reports one, with the counts per graph step and the first error of each
// in the message, so `kubectl describe` shows that records are lost and why; False (NoneDropped)
// while the slots that answer dropped none. A slot's counts start over when it restarts: the
// condition says what the running slots dropped, and the RecordsDropped Event
// (record-observation.ts) marks each rise. Ready and kstatus ignore it: the job runs as its spec
// says.
import { mergeDropped, type StatusResponse } from '../../../../runtime/src/control/contract.ts';
import type { StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';
import { removeJobCondition, setJobCondition, type JobConditionReasons } from './conditions.ts';
import type { Observation } from './observer.ts';

export interface DroppedState {
  /** Records dropped in all, over the answering slots. */
  total: number;
  reason: JobConditionReasons['RecordsDropped'];
  message: string;
}

/** The condition as the running slots report it; undefined when no slot answered. */
export function droppedState(obs: Pick<Observation, 'runtime' | 'slotRuntime'>): DroppedState | undefined {
  const reports: (StatusResponse['recordsDropped'] | undefined)[] = [];
  let heard = false;
  if (obs.runtime && obs.runtime.state === 'RUNNING') {
    heard = true;
    reports.push(obs.runtime.recordsDropped);
  }
  for (const [, rt] of obs.slotRuntime ?? [])
    if ('state' in rt && rt.state === 'RUNNING') {
      heard = true;
      reports.push(rt.recordsDropped);
    }
  if (!heard) return undefined;
  const merged = mergeDropped(reports);
  const total = merged.reduce((n, d) => n + d.count, 0);
  if (total === 0) return { total, reason: 'NoneDropped', message: 'no step dropped a record' };
  const byGraphStep = new Map<string, { count: number; first: string }>();
  for (const d of merged) {
    const s = byGraphStep.get(d.step);
    if (s) s.count += d.count;
    else byGraphStep.set(d.step, { count: d.count, first: `${d.code}: ${d.error}` });
  }
  const parts = [...byGraphStep].map(([step, s]) => `step "${step}" dropped ${s.count} (first: ${s.first})`);
  return {
    total,
    reason: 'ExpressionFailed',
    message: `${total} record(s) dropped on failed expressions: ${parts.join('; ')}; see the job's logs for their origin, or give the step an errorOutput`,
  };
}

/** Sets (or, with nothing deployed, removes) the condition in `st`. */
export function recordDropped(
  st: StreamJobStatus,
  state: DroppedState | undefined,
  gen: number | undefined,
  now: Date,
): void {
  if (!st.deployed) removeJobCondition(st, 'RecordsDropped');
  else if (state)
    setJobCondition(
      st,
      {
        type: 'RecordsDropped',
        status: state.total > 0 ? 'True' : 'False',
        reason: state.reason,
        message: state.message,
      },
      gen,
      now,
    );
}
