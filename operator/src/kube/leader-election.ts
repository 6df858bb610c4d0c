// Leader election on a coordination.k8s.io/v1 Lease, after client-go's
// tools/leaderelection (durations 15 s / 10 s / 2 s).
//
// - A candidate tries to acquire every retryPeriod (jittered). It may take the Lease when it
//   is unheld (empty holder, as left by a release) or when the holder's record has not
//   changed for leaseDuration *as measured by this process's clock since it last saw the
//   record change*: never by comparing renewTime with the local clock, so clock skew
//   between nodes cannot cause two leaders.
// - Writes are PUTs with the observed resourceVersion: of two candidates racing, one gets 409.
// - The leader renews every retryPeriod; if it cannot renew for renewDeadline it has lost the
//   lease: the leading signal is aborted and onStoppedLeading runs. renewDeadline <
//   leaseDuration leaves the margin in which a deposed leader stops before anyone else may
//   take over. Each renewal's requests are cut off at the renew deadline (client-go's context
//   with RenewDeadline): a hung apiserver cannot hold a renewal past it with the client's
//   longer request timeout. `lossReason()` says why the lease was lost.
// - On cancel, a leader releases the Lease (empty holder, 1 s duration) so a successor can
//   take over at its next retry instead of waiting out the lease.
// - Never silent: a Lease that cannot be used (namespace missing, RBAC forbids a verb, API
//   errors) is a `problem()`, logged once per change and shown by the Manager's /readyz; a
//   holder other than us is logged once per holder. With `failAfterMs`, a namespace or RBAC
//   problem that lasts that long ends run() with OPERATOR_LEADER_ELECTION (out-of-cluster
//   runs: nobody will create the namespace for us); without it the candidate keeps trying,
//   as in a cluster where the chart's namespace or Role may still be on its way.
import type { Logger } from '../telemetry/logger.ts';
import { silentLogger } from '../telemetry/logger.ts';
import type { KubeMetrics } from '../telemetry/metrics.ts';
import type { KubeClient } from './client.ts';
import { ErrorCodes, isAlreadyExists, isConflict, isForbidden, isNotFound, OperatorError } from './errors.ts';
import { Resources, type KubeObject } from './api-resources.ts';

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Release the Lease when run() is cancelled while leading. Default true. */
  releaseOnCancel?: boolean;
  /** Called once on acquiring; `signal` aborts when leadership ends. */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called once when leadership ends (lost, or cancelled: then released); not called if never leading. */
  onStoppedLeading?: (why: 'lost' | 'cancelled') => void | Promise<void>;
  /** Called whenever the observed holder changes (including to this identity). */
  onNewLeader?: (identity: string) => void;
  logger?: Logger;
  metrics?: KubeMetrics;
  /** Give up (reject run()) when the namespace is missing or RBAC forbids the Lease this long. */
  failAfterMs?: number;
}

/** Why the Lease cannot be acquired or renewed right now. */
export interface ElectionProblem {
  reason: 'LeaseNamespaceMissing' | 'LeaseForbidden' | 'LeaseApiError';
  message: string;
  /** When this problem was first seen (local clock, ms). */
  since: number;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export type ElectionOutcome = 'released' | 'lost' | 'cancelled';

export class LeaderElector {
  readonly identity: string;
  readonly #o: Required<
    Pick<LeaderElectorOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs' | 'releaseOnCancel'>
  > &
    LeaderElectorOptions;
  readonly #log: Logger;
  #observed: { record: string; at: number; lease: Lease } | undefined;
  #leading = false;
  #lastHolder: string | undefined;
  #problem: ElectionProblem | undefined;
  #lossReason: string | undefined;

  constructor(opts: LeaderElectorOptions) {
    this.identity = opts.identity;
    this.#o = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      releaseOnCancel: true,
      ...opts,
    };
    if (this.#o.renewDeadlineMs >= this.#o.leaseDurationMs)
      throw new OperatorError(ErrorCodes.CONFIG, 'leader election: renewDeadline must be shorter than leaseDuration');
    this.#log = (opts.logger ?? silentLogger()).child({
      component: 'leader-election',
      lease: `${opts.namespace}/${opts.name}`,
      identity: opts.identity,
    });
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** How long a deposed leader has to stop before a standby may take over (leaseDuration − renewDeadline). */
  get stopMarginMs(): number {
    return this.#o.leaseDurationMs - this.#o.renewDeadlineMs;
  }

  /** Why leadership was lost (the renew deadline passed, and the last failure; or who took it); else undefined. */
  lossReason(): string | undefined {
    return this.#lossReason;
  }

  /** Why the Lease cannot be used, if it cannot; undefined once acquiring or renewing works. */
  problem(): ElectionProblem | undefined {
    return this.#problem;
  }

  /**
   * Campaigns until leading, leads until the lease is lost or `signal` aborts, then returns
   * why it stopped. One-shot: like client-go, a process that lost the lease should exit
   * rather than campaign again with possibly stale state.
   */
  async run(signal: AbortSignal): Promise<ElectionOutcome> {
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew()) break;
      this.#failIfHopeless();
      await sleep(jitter(this.#o.retryPeriodMs), signal);
    }
    if (signal.aborted) return 'cancelled';

    this.#leading = true;
    this.#o.metrics?.leaderStatus.set({ name: this.#o.name }, 1);
    this.#log.info('became leader');
    const leading = new AbortController();
    void Promise.resolve()
      .then(() => this.#o.onStartedLeading(leading.signal))
      .catch((err: unknown) => this.#log.error({ err }, 'onStartedLeading failed'));

    let outcome: ElectionOutcome = 'lost';
    let lastRenew = Date.now();
    while (!signal.aborted) {
      await sleep(this.#o.retryPeriodMs, signal);
      if (signal.aborted) break;
      if (await this.#tryAcquireOrRenew(lastRenew + this.#o.renewDeadlineMs)) {
        lastRenew = Date.now();
        continue;
      }
      const since = Date.now() - lastRenew;
      if (this.#lastHolder !== undefined && this.#lastHolder !== this.identity) {
        this.#lossReason = `another operator (${this.#lastHolder}) holds it`;
      } else if (since >= this.#o.renewDeadlineMs) {
        this.#lossReason =
          `could not renew it for ${(since / 1000).toFixed(1)} s (renew deadline ${this.#o.renewDeadlineMs / 1000} s)` +
          (this.#problem ? `: ${this.#problem.message}` : '');
      } else continue;
      this.#log.warn({ reason: this.#lossReason }, `lost the lease: ${this.#lossReason}`);
      break;
    }
    // Work stops before the lease is released, never after: otherwise a successor could
    // start while this process still acts.
    this.#leading = false;
    this.#o.metrics?.leaderStatus.set({ name: this.#o.name }, 0);
    leading.abort();
    try {
      await this.#o.onStoppedLeading?.(signal.aborted ? 'cancelled' : 'lost');
    } catch (err) {
      this.#log.error({ err }, 'onStoppedLeading failed');
    }
    if (signal.aborted) {
      outcome = 'cancelled';
      if (this.#o.releaseOnCancel && (await this.#release())) outcome = 'released';
    }
    return outcome;
  }

  /** `deadline` (while leading: the renew deadline, epoch ms) cuts off its requests. */
  async #tryAcquireOrRenew(deadline?: number): Promise<boolean> {
    const { client, namespace, name } = this.#o;
    const now = Date.now();
    const timeout = (): { timeoutMs?: number } =>
      deadline === undefined ? {} : { timeoutMs: Math.max(1, Math.min(client.timeoutMs, deadline - Date.now())) };
    const durationSeconds = Math.ceil(this.#o.leaseDurationMs / 1000);
    let lease: Lease;
    try {
      lease = await client.get<Lease>(Resources.Lease, namespace, name, timeout());
    } catch (err) {
      if (!isNotFound(err)) {
        this.#setProblem(this.#classify(err, 'get'), err);
        return false;
      }
      try {
        const created = await client.create<Lease>(Resources.Lease, {
          metadata: { namespace, name },
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        });
        this.#setProblem(undefined);
        this.#observe(created, now);
        return true;
      } catch (cerr) {
        // A create answered 404 means the namespace itself is missing (the Lease's absence was the GET's 404).
        if (isNotFound(cerr))
          this.#setProblem(
            {
              reason: 'LeaseNamespaceMissing',
              message: `the Lease namespace "${namespace}" does not exist; create it, or point --lease-namespace at an existing one, or run with --leader-elect=false`,
            },
            cerr,
          );
        else if (!isAlreadyExists(cerr)) this.#setProblem(this.#classify(cerr, 'create'), cerr);
        return false;
      }
    }
    this.#setProblem(undefined);

    this.#observe(lease, now);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const observedAt = this.#observed?.at ?? now;
    const duration = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (holder !== '' && holder !== this.identity && observedAt + duration > now) return false;

    const isRenewal = holder === this.identity;
    const next: Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: durationSeconds,
        renewTime: microTime(now),
        acquireTime: isRenewal ? (spec.acquireTime ?? microTime(now)) : microTime(now),
        leaseTransitions: isRenewal ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      const updated = await client.replace<Lease>(Resources.Lease, next, timeout());
      this.#observe(updated, now);
      return true;
    } catch (err) {
      if (!isConflict(err)) this.#setProblem(this.#classify(err, 'update'), err);
      return false;
    }
  }

  #classify(err: unknown, verb: 'get' | 'create' | 'update'): Omit<ElectionProblem, 'since'> {
    const { namespace, name } = this.#o;
    if (isForbidden(err)) {
      return {
        reason: 'LeaseForbidden',
        message: `RBAC forbids "${verb}" on leases.coordination.k8s.io in namespace "${namespace}" (Lease ${name}) for the operator's identity; grant it (the chart's Role does) or run with --leader-elect=false`,
      };
    }
    return {
      reason: 'LeaseApiError',
      message: `${verb} of Lease ${namespace}/${name} failed: ${(err as Error).message}`,
    };
  }

  /** Records the current problem; logs only when it changes, so a retry loop stays quiet. */
  #setProblem(p: Omit<ElectionProblem, 'since'> | undefined, err?: unknown): void {
    const prev = this.#problem;
    if (p === undefined) {
      if (prev) this.#log.info({ previous: prev.reason }, 'the leader Lease is usable again');
      this.#problem = undefined;
      return;
    }
    // Messages that differ only in figures (a request timeout cut to the renew deadline) are the same problem.
    const same = (a: string, b: string) => a.replace(/\d+/g, '#') === b.replace(/\d+/g, '#');
    if (prev?.reason === p.reason && same(prev.message, p.message)) return;
    this.#problem = { ...p, since: prev?.reason === p.reason ? prev.since : Date.now() };
    this.#log.warn({ reason: p.reason, err }, `leader election cannot proceed: ${p.message}`);
  }

  #failIfHopeless(): void {
    const p = this.#problem;
    const limit = this.#o.failAfterMs;
    if (limit === undefined || !p || p.reason === 'LeaseApiError') return;
    if (Date.now() - p.since >= limit)
      throw new OperatorError(ErrorCodes.LEADER_ELECTION, `leader election: ${p.message}`);
  }

  async #release(): Promise<boolean> {
    const lease = this.#observed?.lease;
    if (!lease || lease.spec?.holderIdentity !== this.identity) return false;
    const now = Date.now();
    try {
      await this.#o.client.replace<Lease>(Resources.Lease, {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          renewTime: microTime(now),
          acquireTime: microTime(now),
        },
      });
      this.#log.info('released the lease');
      return true;
    } catch (err) {
      this.#log.warn({ err }, 'releasing the lease failed; a successor will wait for it to expire');
      return false;
    }
  }

  /** Tracks when the record last changed, by the local clock. */
  #observe(lease: Lease, now: number): void {
    const record = JSON.stringify(lease.spec ?? {});
    if (!this.#observed || this.#observed.record !== record) this.#observed = { record, at: now, lease };
    else this.#observed.lease = lease;
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder !== this.#lastHolder) {
      this.#lastHolder = holder;
      if (holder !== '') this.#o.onNewLeader?.(holder);
      if (holder !== '' && holder !== this.identity)
        this.#log.info(
          { holder },
          `another operator holds the leader Lease (${holder}); standing by until it is released or expires`,
        );
    }
  }
}

function jitter(ms: number): number {
  return ms + Math.random() * ms * 1.2;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
