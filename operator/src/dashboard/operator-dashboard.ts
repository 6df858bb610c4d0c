// The operator's dashboard source: every StreamJob of the namespaces the operator watches (the
// informers' caches: a job elsewhere is never in them, so never shown), its slots sampled by
// SlotSampler into one SeriesStore per job, its Events listed through the API (job-events.ts).
// Every replica serves it, leader or not: a follower's caches are warm (the Manager starts
// informers at once) and it samples the slots itself, so it shows the same jobs and status; its
// series start when it started. Nothing here writes to the cluster.
//
// Memory per job, bounded: its SeriesStore (runtime/src/dashboard/series-store.ts: (5 + sources)
// × 8 × capacity bytes, 14.4 kB + 2.9 kB per source at the default 360 points), at most
// MAX_CHECKPOINTS checkpoint rows and MAX_SLOT_ERRORS slot errors; dropped when the job is deleted
// (or recreated under its name: a new uid). Events: job-events.ts (cached 5 s, at most 100 a job).
import type {
  DashboardCheckpoint,
  DashboardException,
  DashboardJobDetail,
  DashboardJobs,
  DashboardNode,
} from '../../../runtime/src/dashboard/model.ts';
import { DASHBOARD_API_VERSION } from '../../../runtime/src/dashboard/model.ts';
import { SeriesStore, slotSampleFromStatus } from '../../../runtime/src/dashboard/series-store.ts';
import { addCheckpoints, reportedCheckpoints } from '../../../runtime/src/dashboard/checkpoint-table.ts';
import type { StreamJob, StreamJobSpec } from '../api/v1alpha1/streamjob.ts';
import type { Informer, KubeClient } from '../kube/index.ts';
import type { Pod } from '../controllers/streamjob/objects/slot-pod.ts';
import type { Secret } from '../controllers/streamjob/objects/control-token.ts';
import { podsOf, tokenOf } from '../controllers/streamjob/observer.ts';
import type { RuntimeClient } from '../runtime-client/client.ts';
import type { Logger } from '../telemetry/logger.ts';
import { graphOf } from './graph.ts';
import { checkpointsOf, rescalesOf, summaryOf } from './job-records.ts';
import { exceptionsOf, JobEventsCache } from './job-events.ts';
import { withoutUserinfo } from './redact.ts';
import { SlotSampler, type JobSample } from './slot-sampler.ts';

export const MAX_CHECKPOINTS = 20;
export const MAX_SLOT_ERRORS = 16;

/** The caches of one watched scope (a namespace, or all): those the StreamJob controller uses. */
export interface JobCaches {
  readonly jobs: Informer<StreamJob>;
  readonly pods: Informer<Pod>;
  readonly secrets: Informer<Secret>;
}

export interface OperatorDashboardOptions {
  readonly scopes: readonly JobCaches[];
  readonly client: KubeClient;
  readonly runtime: RuntimeClient;
  /** Between two samples of a job's slots (default 5 s). */
  readonly intervalMs?: number;
  /** Points each series keeps (default: the store's, 360). */
  readonly capacity?: number;
  /** Slot requests in flight at most (default 8). */
  readonly concurrency?: number;
  readonly logger?: Logger;
  readonly now?: () => number;
}

interface JobHistory {
  readonly uid: string;
  readonly store: SeriesStore;
  /** Checkpoints slot 0 reported, newest first. */
  checkpoints: DashboardCheckpoint[];
  /** The last FAILED error per slot. */
  readonly slotErrors: Map<number, DashboardException>;
}

export class OperatorDashboard {
  readonly #o: OperatorDashboardOptions;
  readonly #now: () => number;
  readonly #histories = new Map<string, JobHistory>();
  readonly #events: JobEventsCache;
  readonly sampler: SlotSampler;

  constructor(opts: OperatorDashboardOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
    this.#events = new JobEventsCache(opts.client, this.#now);
    const scopeOf = (job: StreamJob) => opts.scopes.find((s) => s.jobs.get(job.metadata.namespace, job.metadata.name!));
    this.sampler = new SlotSampler({
      jobs: () => this.#allJobs(),
      pods: (job) => {
        const s = scopeOf(job);
        return s ? podsOf(s.pods, job) : [];
      },
      token: (job) => {
        const s = scopeOf(job);
        return s
          ? tokenOf({ pods: s.pods, secrets: s.secrets, runtime: opts.runtime, tokens: new Map() }, job)
          : undefined;
      },
      runtime: opts.runtime,
      onSample: (key, job, sample) => this.#record(key, job, sample),
      onGone: (key) => this.#forget(key),
      ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
      ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
      now: this.#now,
    });
  }

  start(): void {
    this.sampler.start();
  }

  stop(): Promise<void> {
    return this.sampler.stop();
  }

  /** Jobs with a history now (the memory bound's count). */
  get historyCount(): number {
    return this.#histories.size;
  }

  async jobs(): Promise<DashboardJobs> {
    const now = this.#now();
    const jobs = this.#allJobs()
      .map((j) => summaryOf(j, now, this.#history(j)?.store.latest()))
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    return { apiVersion: DASHBOARD_API_VERSION, generatedAt: new Date(now).toISOString(), jobs };
  }

  async job(namespace: string, name: string): Promise<DashboardJobDetail | undefined> {
    const job = this.#find(namespace, name);
    if (!job) return undefined;
    const now = this.#now();
    const h = this.#history(job);
    // Without its Events (the API down, RBAC without Events list) the page still shows the rest.
    const events = await this.#events.events(namespace, name, job.metadata.uid).catch((err: unknown) => {
      this.#o.logger?.warn({ err, job: `${namespace}/${name}` }, 'dashboard: the job Events could not be listed');
      return [];
    });
    const rates = h?.store.nodeRates();
    const graph = graphOf(deployedSpec(job).graph);
    const nodes = graph.nodes.map((n): DashboardNode => {
      const r = rates?.get(n.id);
      return r ? { ...n, ...r } : n;
    });
    const exceptions = [...exceptionsOf(events), ...(h?.slotErrors.values() ?? [])]
      .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))
      .slice(0, 50);
    const store = h?.store ?? new SeriesStore({ intervalSeconds: this.sampler.intervalMs / 1000, ...this.#capacity() });
    return {
      apiVersion: DASHBOARD_API_VERSION,
      generatedAt: new Date(now).toISOString(),
      summary: summaryOf(job, now, h?.store.latest()),
      graph: { nodes, edges: graph.edges },
      series: store.series(),
      checkpoints: checkpointsOf(job, h?.checkpoints),
      events,
      exceptions,
      rescales: rescalesOf(job),
    };
  }

  #capacity(): { capacity?: number } {
    return this.#o.capacity !== undefined ? { capacity: this.#o.capacity } : {};
  }

  #allJobs(): StreamJob[] {
    const seen = new Set<string>();
    const out: StreamJob[] = [];
    for (const s of this.#o.scopes)
      for (const j of s.jobs.list()) {
        const key = `${j.metadata.namespace}/${j.metadata.name}`;
        if (!seen.has(key)) out.push(j);
        seen.add(key);
      }
    return out;
  }

  #find(namespace: string, name: string): StreamJob | undefined {
    for (const s of this.#o.scopes) {
      if (s.jobs.namespace !== undefined && s.jobs.namespace !== namespace) continue;
      const j = s.jobs.get(namespace, name);
      if (j) return j;
    }
    return undefined;
  }

  #history(job: StreamJob): JobHistory | undefined {
    const h = this.#histories.get(`${job.metadata.namespace}/${job.metadata.name}`);
    return h && h.uid === (job.metadata.uid ?? '') ? h : undefined;
  }

  #record(key: string, job: StreamJob, sample: JobSample): void {
    let h = this.#history(job);
    if (!h) {
      h = {
        uid: job.metadata.uid ?? '',
        store: new SeriesStore({ intervalSeconds: this.sampler.intervalMs / 1000, ...this.#capacity() }),
        checkpoints: [],
        slotErrors: new Map(),
      };
      this.#histories.set(key, h);
    }
    const ck = sample.slots.get(0)?.lastCheckpoint;
    h.store.record({
      at: sample.at,
      slots: [...sample.slots.values()].map(slotSampleFromStatus),
      ...(ck
        ? { checkpoint: { id: ck.id, ...optional('durationMs', ck.durationMs), ...optional('bytes', ck.bytes) } }
        : {}),
    });
    addCheckpoints(h.checkpoints, reportedCheckpoints(sample.slots.get(0)), MAX_CHECKPOINTS, withoutUserinfo);
    for (const [slot, st] of sample.slots) {
      if (st.state !== 'FAILED' || !st.error) continue;
      const message = withoutUserinfo(`slot ${slot} reports FAILED: ${st.error}`);
      if (h.slotErrors.get(slot)?.message === message) continue;
      h.slotErrors.delete(slot);
      h.slotErrors.set(slot, { slot, message, at: new Date(sample.at).toISOString() });
      if (h.slotErrors.size > MAX_SLOT_ERRORS) h.slotErrors.delete(h.slotErrors.keys().next().value!);
    }
  }

  #forget(key: string): void {
    this.#histories.delete(key);
    const [ns = '', name = ''] = key.split('/');
    this.#events.forget(ns, name);
  }
}

function optional<K extends string>(key: K, v: number | undefined): { [k in K]?: number } {
  return (v === undefined ? {} : { [key]: v }) as { [k in K]?: number };
}

/** The spec that runs (status.deployed.spec), else the object's spec. */
function deployedSpec(job: StreamJob): StreamJobSpec {
  const json = job.status?.deployed?.spec;
  if (json)
    try {
      return JSON.parse(json) as StreamJobSpec;
    } catch {
      // A spec the operator wrote itself; unreadable only if status was edited by hand.
    }
  return job.spec;
}
