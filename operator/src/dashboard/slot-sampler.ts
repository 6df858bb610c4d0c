// The dashboard's sampler: every intervalMs, each running job's slots' GET /v1/status, handed to
// `onSample` (which feeds the series store). Its own loop, never the reconcile's: a slow or silent
// slot delays only its own answer (the runtime client's timeout), never a reconcile. It does not
// hammer the slots: one request per slot per interval at most (a round still in flight when the
// next is due makes that one skip), and at most `concurrency` requests in flight over all jobs.
// Every replica samples, leader or not (the caches it reads are on every replica).
import type { StatusResponse } from '../../../runtime/src/control/contract.ts';
import type { StreamJob } from '../api/v1alpha1/streamjob.ts';
import type { Pod } from '../controllers/streamjob/objects/slot-pod.ts';
import { slotOf } from '../controllers/streamjob/objects/slot-pod.ts';
import { DEPLOYMENT_LABEL } from '../controllers/streamjob/objects/metadata.ts';
import { RuntimeClient, RuntimeError } from '../runtime-client/client.ts';
import type { Logger } from '../telemetry/logger.ts';

/** One round's answers of one job's current deployment. */
export interface JobSample {
  /** When the round started (ms since the epoch). */
  readonly at: number;
  readonly deploymentId: string;
  readonly parallelism: number;
  /** The slots that answered for this deployment. */
  readonly slots: ReadonlyMap<number, StatusResponse>;
  /** Why the others did not. */
  readonly errors: ReadonlyMap<number, string>;
}

export interface SlotSamplerOptions {
  /** Every StreamJob the operator watches (the informers' caches). */
  readonly jobs: () => readonly StreamJob[];
  /** The job's slot pods (controlled by it). */
  readonly pods: (job: StreamJob) => readonly Pod[];
  /** The job's control token, or undefined when not known yet. */
  readonly token: (job: StreamJob) => string | undefined;
  readonly runtime: RuntimeClient;
  readonly onSample: (key: string, job: StreamJob, sample: JobSample) => void;
  /** A job no longer watched (deleted): its history is dropped. */
  readonly onGone: (key: string) => void;
  readonly intervalMs?: number;
  readonly concurrency?: number;
  readonly logger?: Logger;
  readonly now?: () => number;
}

const keyOf = (j: StreamJob) => `${j.metadata.namespace}/${j.metadata.name}`;

/** The slots to ask: pods of the deployed deployment that run and have an IP, one per slot. */
export function slotTargets(job: StreamJob, pods: readonly Pod[]): { slot: number; ip: string }[] {
  const dep = job.status?.deployed?.id;
  if (!dep || job.metadata.deletionTimestamp) return [];
  const out = new Map<number, string>();
  for (const p of pods) {
    const ip = p.status?.podIP;
    if (p.metadata?.labels?.[DEPLOYMENT_LABEL] !== dep || p.status?.phase !== 'Running' || !ip) continue;
    if (p.metadata.deletionTimestamp) continue;
    out.set(slotOf(p), ip);
  }
  return [...out].sort((a, b) => a[0] - b[0]).map(([slot, ip]) => ({ slot, ip }));
}

/** Runs `tasks` with at most `limit` in flight. */
export async function limited(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

export class SlotSampler {
  readonly #o: SlotSamplerOptions;
  readonly #intervalMs: number;
  /** Jobs seen in the last round → their uid (a job recreated under its name starts a new history). */
  readonly #known = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  /** Rounds skipped because the previous one was still running. */
  skipped = 0;

  constructor(opts: SlotSamplerOptions) {
    this.#o = opts;
    this.#intervalMs = opts.intervalMs ?? 5_000;
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#round) {
        this.skipped++;
        return;
      }
      this.#round = this.sampleOnce().finally(() => (this.#round = undefined));
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#round;
  }

  /** One round over every job (exported for tests); never throws. */
  async sampleOnce(): Promise<void> {
    const at = (this.#o.now ?? Date.now)();
    const jobs = this.#o.jobs();
    const present = new Map(jobs.map((j) => [keyOf(j), j.metadata.uid ?? ''] as const));
    for (const [k, uid] of this.#known)
      if (present.get(k) !== uid) {
        this.#known.delete(k);
        this.#o.onGone(k);
      }
    const tasks: (() => Promise<void>)[] = [];
    const rounds: { job: StreamJob; slots: Map<number, StatusResponse>; errors: Map<number, string> }[] = [];
    for (const job of jobs) {
      this.#known.set(keyOf(job), job.metadata.uid ?? '');
      const targets = slotTargets(job, this.#o.pods(job));
      const token = this.#o.token(job);
      if (targets.length === 0 || !token) continue;
      const round = { job, slots: new Map<number, StatusResponse>(), errors: new Map<number, string>() };
      rounds.push(round);
      const dep = job.status!.deployed!.id;
      for (const { slot, ip } of targets)
        tasks.push(async () => {
          try {
            const st = await this.#o.runtime.status(RuntimeClient.baseUrl(ip), token);
            if (st.deploymentId && st.deploymentId !== dep) round.errors.set(slot, `answers for ${st.deploymentId}`);
            else round.slots.set(slot, st);
          } catch (err) {
            round.errors.set(slot, err instanceof RuntimeError ? err.message : String(err));
          }
        });
    }
    await limited(tasks, this.#o.concurrency ?? 8);
    for (const { job, slots, errors } of rounds) {
      const deployed = job.status!.deployed!;
      try {
        this.#o.onSample(keyOf(job), job, {
          at,
          deploymentId: deployed.id,
          parallelism: deployed.parallelism,
          slots,
          errors,
        });
      } catch (err) {
        this.#o.logger?.warn({ err, job: keyOf(job) }, 'dashboard: a sample was not recorded');
      }
    }
  }
}
