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
//   take over.
// - On cancel, a leader releases the Lease (empty holder, 1 s duration) so a successor can
//   take over at its next retry instead of waiting out the lease.
import type { Logger } from '../telemetry/logger.ts';
import { silentLogger } from '../telemetry/logger.ts';
import type { OperatorMetrics } from '../telemetry/metrics.ts';
import type { KubeClient } from './client.ts';
import { ErrorCodes, isAlreadyExists, isConflict, isNotFound, OperatorError } from './errors.ts';
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
  /** Called once when leadership ends (lost or released); not called if never leading. */
  onStoppedLeading?: () => void | Promise<void>;
  /** Called whenever the observed holder changes (including to this identity). */
  onNewLeader?: (identity: string) => void;
  logger?: Logger;
  metrics?: OperatorMetrics;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export type ElectionOutcome = 'released' | 'lost' | 'cancelled';

export class LeaderElector {
  readonly identity: string;
  readonly #o: Required<Pick<LeaderElectorOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs' | 'releaseOnCancel'>> & LeaderElectorOptions;
  readonly #log: Logger;
  #observed: { record: string; at: number; lease: Lease } | undefined;
  #leading = false;
  #lastHolder: string | undefined;

  constructor(opts: LeaderElectorOptions) {
    this.identity = opts.identity;
    this.#o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, releaseOnCancel: true, ...opts };
    if (this.#o.renewDeadlineMs >= this.#o.leaseDurationMs) throw new OperatorError(ErrorCodes.CONFIG, 'leader election: renewDeadline must be shorter than leaseDuration');
    this.#log = (opts.logger ?? silentLogger()).child({ component: 'leader-election', lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /**
   * Campaigns until leading, leads until the lease is lost or `signal` aborts, then returns
   * why it stopped. One-shot: like client-go, a process that lost the lease should exit
   * rather than campaign again with possibly stale state.
   */
  async run(signal: AbortSignal): Promise<ElectionOutcome> {
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew()) break;
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
      if (await this.#tryAcquireOrRenew()) {
        lastRenew = Date.now();
        continue;
      }
      if (Date.now() - lastRenew >= this.#o.renewDeadlineMs || (this.#lastHolder !== undefined && this.#lastHolder !== this.identity)) {
        this.#log.warn('lost the lease');
        break;
      }
    }
    // Work stops before the lease is released, never after: otherwise a successor could
    // start while this process still acts.
    this.#leading = false;
    this.#o.metrics?.leaderStatus.set({ name: this.#o.name }, 0);
    leading.abort();
    try {
      await this.#o.onStoppedLeading?.();
    } catch (err) {
      this.#log.error({ err }, 'onStoppedLeading failed');
    }
    if (signal.aborted) {
      outcome = 'cancelled';
      if (this.#o.releaseOnCancel && (await this.#release())) outcome = 'released';
    }
    return outcome;
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name } = this.#o;
    const now = Date.now();
    const durationSeconds = Math.ceil(this.#o.leaseDurationMs / 1000);
    let lease: Lease;
    try {
      lease = await client.get<Lease>(Resources.Lease, namespace, name);
    } catch (err) {
      if (!isNotFound(err)) {
        this.#log.debug({ err }, 'reading the lease failed');
        return false;
      }
      try {
        const created = await client.create<Lease>(Resources.Lease, {
          metadata: { namespace, name },
          spec: { holderIdentity: this.identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        });
        this.#observe(created, now);
        return true;
      } catch (cerr) {
        if (!isAlreadyExists(cerr)) this.#log.debug({ err: cerr }, 'creating the lease failed');
        return false;
      }
    }

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
      const updated = await client.replace<Lease>(Resources.Lease, next);
      this.#observe(updated, now);
      return true;
    } catch (err) {
      if (!isConflict(err)) this.#log.debug({ err }, 'updating the lease failed');
      return false;
    }
  }

  async #release(): Promise<boolean> {
    const lease = this.#observed?.lease;
    if (!lease || lease.spec?.holderIdentity !== this.identity) return false;
    const now = Date.now();
    try {
      await this.#o.client.replace<Lease>(Resources.Lease, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(now), acquireTime: microTime(now) },
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
