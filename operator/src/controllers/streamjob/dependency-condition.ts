// DependencyUnavailable: the external systems the job's slots cannot reach while they ride the
// fault out within their bounds (the slots' `unavailable` in GET /v1/status, core/outage.ts).
// It names the dependency, the component, where it tried, since when and the error, so `kubectl
// describe` says why a job stalls before any bound passes and a slot fails. Each slot has its
// own clients, so every slot's report counts, merged per dependency and component.
//
// Ready stays as the pods and runtimes say: the job runs and rides the outage out, like a job
// waiting for its input (WaitingForInput); kstatus ignores this condition. When no slot
// answers (the slots failed, or are restarting) the condition keeps what it last said: the
// outage that failed them is the likeliest explanation until a slot answers again.
import type { Dependency, DependencyOutage } from '../../../../runtime/src/control/contract.ts';
import type { StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';
import { removeJobCondition, setJobCondition, type JobConditionReasons } from './conditions.ts';
import type { Observation } from './observer.ts';

type Reason = JobConditionReasons['DependencyUnavailable'];

const REASONS: Record<Dependency, Reason> = {
  kafka: 'KafkaUnavailable',
  s3: 'S3Unavailable',
  kudu: 'KuduUnavailable',
  druid: 'DruidUnavailable',
  'schema-registry': 'SchemaRegistryUnavailable',
};

export interface DependencyState {
  unavailable: boolean;
  reason: Reason;
  message: string;
}

interface Merged {
  outage: DependencyOutage;
  slots: number[];
}

/** Every answering slot's outages, merged per dependency and component (earliest since, slots listed). */
function merge(reports: ReadonlyMap<number, readonly DependencyOutage[]>): Merged[] {
  const byKey = new Map<string, Merged>();
  for (const [slot, outages] of [...reports].sort(([a], [b]) => a - b))
    for (const o of outages) {
      const k = JSON.stringify([o.dependency, o.component]);
      const m = byKey.get(k);
      if (!m) byKey.set(k, { outage: o, slots: [slot] });
      else {
        m.slots.push(slot);
        if (o.since < m.outage.since) m.outage = { ...m.outage, since: o.since };
      }
    }
  return [...byKey.values()].sort((a, b) => a.outage.since.localeCompare(b.outage.since));
}

function describe(m: Merged): string {
  const o = m.outage;
  const slots = `slot${m.slots.length > 1 ? 's' : ''} ${m.slots.join(',')}`;
  const bound = o.bound ? `; ${o.bound}` : '';
  return `${o.dependency} unavailable to ${o.component} (${slots}) at ${o.target} since ${o.since}: ${o.error}${bound}`;
}

/**
 * The condition as the slots report it: every RUNNING slot, and any slot naming an outage;
 * undefined when none of them answered (nothing to say).
 * Reason: the dependency of the oldest outage.
 */
export function dependencyState(obs: Pick<Observation, 'runtime' | 'slotRuntime'>): DependencyState | undefined {
  const reports = new Map<number, readonly DependencyOutage[]>();
  // A slot still starting has not met its dependencies yet: its silence says nothing (else a
  // restart during an outage would clear the condition until the new slot tries and fails).
  const heard = (state: string, unavailable: readonly DependencyOutage[] | undefined): boolean =>
    state === 'RUNNING' || (unavailable?.length ?? 0) > 0;
  if (obs.runtime && heard(obs.runtime.state, obs.runtime.unavailable)) reports.set(0, obs.runtime.unavailable ?? []);
  for (const [slot, rt] of obs.slotRuntime ?? [])
    if ('state' in rt && heard(rt.state, rt.unavailable)) reports.set(slot, rt.unavailable ?? []);
  if (reports.size === 0) return undefined;
  const merged = merge(reports);
  const first = merged[0];
  if (!first) return { unavailable: false, reason: 'Available', message: 'every dependency answers' };
  return {
    unavailable: true,
    reason: REASONS[first.outage.dependency] ?? 'Unavailable', // a dependency a newer runtime names
    message: merged.map(describe).join('; '),
  };
}

/** Sets (or, with nothing deployed, removes) the condition in `st`. */
export function recordDependencies(
  st: StreamJobStatus,
  state: DependencyState | undefined,
  gen: number | undefined,
  now: Date,
): void {
  if (!st.deployed) removeJobCondition(st, 'DependencyUnavailable');
  else if (state && st.phase !== 'Failed' && st.phase !== 'Finished')
    setJobCondition(
      st,
      {
        type: 'DependencyUnavailable',
        status: state.unavailable ? 'True' : 'False',
        reason: state.reason,
        message: state.message,
      },
      gen,
      now,
    );
}
