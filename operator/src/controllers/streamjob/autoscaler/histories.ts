// The autoscaler's memory in this process: per StreamJob (by uid), the slots' recent load answers
// (autoscaler/load-window.ts) and when its status.autoscaler inputs were last refreshed. In memory only: an
// operator restart starts each window over (a decision waits CollectingMetrics for half a window), which costs
// one window of latency and nothing else, as every counter is cumulative in the slots.
//
// Bounded: one entry per StreamJob with its autoscaler on, each window at most MAX_SAMPLES samples; an entry is
// dropped when its job is deleted or its autoscaler turned off, and a job recreated under its name (a new uid)
// starts a new one.
import type { SlotLoad } from '../../../../../runtime/src/control/contract.ts';
import type { StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import { LoadWindow, type LoadSample } from './load-window.ts';
import type { Observation } from '../observer.ts';

export interface JobLoadHistory {
  readonly uid: string;
  readonly window: LoadWindow;
  /** When this process last wrote status.autoscaler for the job (ms since the epoch); 0 = not yet. */
  lastWriteAt: number;
}

export class AutoscalerHistories {
  /** By namespace/name: a deleted job is known only by its key. */
  readonly #byKey = new Map<string, JobLoadHistory>();

  /** The job's history, a new one when there is none or the name now belongs to another object (uid). */
  of(job: StreamJob): JobLoadHistory {
    const key = `${job.metadata.namespace}/${job.metadata.name}`;
    const uid = job.metadata.uid ?? '';
    const had = this.#byKey.get(key);
    if (had && had.uid === uid) return had;
    const made: JobLoadHistory = { uid, window: new LoadWindow(), lastWriteAt: 0 };
    this.#byKey.set(key, made);
    return made;
  }

  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  /** Forgets the job (deleted, or its autoscaler off); true when there was something to forget. */
  drop(key: string): boolean {
    return this.#byKey.delete(key);
  }

  get size(): number {
    return this.#byKey.size;
  }
}

/**
 * The load counters the slots of the current deployment gave in this reconcile's observation: slot 0 from its
 * status (observer.ts), the others from their own (slot-runtime.ts). A slot that did not answer is absent; one
 * that answered without counters is undefined. Undefined when nothing runs or no slot answered.
 */
export function loadSample(job: StreamJob, obs: Observation, at: number): LoadSample | undefined {
  const deployed = job.status?.deployed;
  if (!deployed || obs.deploymentId !== deployed.id) return undefined;
  const slots = new Map<number, SlotLoad | undefined>();
  if (obs.runtime) slots.set(0, obs.runtime.load);
  for (const [slot, rt] of obs.slotRuntime ?? []) if ('state' in rt) slots.set(slot, rt.load);
  if (slots.size === 0) return undefined;
  return { at, deploymentId: deployed.id, parallelism: deployed.parallelism, slots };
}
