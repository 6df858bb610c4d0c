// The Manager owns what controllers share: one REST client, shared informers (one watch per
// resource+scope+selector however many controllers use it), the status writer, the event
// recorder, leader election, and the shutdown order.
//
// Start: informers start at once (caches warm while campaigning, so a new leader can act
// immediately); controllers start when this process leads (at once without election).
// Stop (SIGTERM, or lease lost): controllers stop taking keys and drain in-flight
// reconciles up to the deadline → the Lease is released → informers stop → client closes.
// A process that *lost* the lease ends `run()` with OPERATOR_LEADERSHIP_LOST so that main
// exits non-zero and the Deployment restarts it with fresh state, as client-go advises.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { Logger } from '../telemetry/logger.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { kubeMetrics, type KubeMetrics } from '../telemetry/metrics.ts';
import type { KubeClient } from './client.ts';
import { Controller, type ControllerOptions } from './controller.ts';
import { ErrorCodes, OperatorError } from './errors.ts';
import { EventRecorder } from './events.ts';
import { Informer, type InformerOptions } from './informer.ts';
import { LeaderElector } from './leader-election.ts';
import { resourceId, type KubeObject, type ResourceType } from './api-resources.ts';
import { StatusWriter } from './status-writer.ts';

export interface ManagerOptions {
  client: KubeClient;
  registry: Registry;
  logger?: Logger;
  /** Event source component and field manager. Default `tributary-operator`. */
  component?: string;
  leaderElection?: {
    namespace: string;
    name: string;
    identity?: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
    /**
     * Reject run() with OPERATOR_LEADER_ELECTION when the Lease's namespace is missing or RBAC forbids it this long.
     */
    failAfterMs?: number;
  };
  /** How long in-flight reconciles may run after a stop request. Default 30 s. */
  shutdownTimeoutMs?: number;
  /** Events per involved object before the spam filter holds them back (EventRecorder; default client-go's 25). */
  eventSpamBurst?: number;
}

export type InformerSpec<T extends KubeObject> = Omit<InformerOptions<T>, 'client' | 'logger' | 'metrics' | 'resource'>;

export class Manager {
  readonly client: KubeClient;
  readonly metrics: KubeMetrics;
  readonly logger: Logger;
  readonly statusWriter: StatusWriter;
  readonly events: EventRecorder;
  readonly #opts: ManagerOptions;
  readonly #informers = new Map<string, Informer<KubeObject>>();
  readonly #controllers: Controller<KubeObject>[] = [];
  readonly #stop = new AbortController();
  #elector: LeaderElector | undefined;
  #running: Promise<void> | undefined;
  #leading = false;

  constructor(opts: ManagerOptions) {
    this.#opts = opts;
    this.client = opts.client;
    this.metrics = kubeMetrics(opts.registry);
    this.logger = opts.logger ?? silentLogger();
    this.client.health.bind(this.logger, this.metrics);
    const component = opts.component ?? 'tributary-operator';
    this.statusWriter = new StatusWriter({ client: this.client, metrics: this.metrics, fieldManager: component });
    this.events = new EventRecorder({
      client: this.client,
      component,
      logger: this.logger,
      metrics: this.metrics,
      ...(opts.eventSpamBurst !== undefined ? { spamBurst: opts.eventSpamBurst } : {}),
    });
  }

  /** A shared informer: the same resource, namespace and selectors return the same instance. */
  informer<T extends KubeObject>(resource: ResourceType, spec: InformerSpec<T> = {}): Informer<T> {
    const id = [resourceId(resource), spec.namespace ?? '*', spec.labelSelector ?? '', spec.fieldSelector ?? ''].join(
      '|',
    );
    let inf = this.#informers.get(id);
    if (!inf) {
      inf = new Informer<T>({
        ...spec,
        resource,
        client: this.client,
        logger: this.logger,
        metrics: this.metrics,
      }) as unknown as Informer<KubeObject>;
      this.#informers.set(id, inf);
      if (this.#running) inf.start();
    }
    return inf as unknown as Informer<T>;
  }

  addController<T extends KubeObject>(opts: Omit<ControllerOptions<T>, 'logger' | 'metrics'>): Controller<T> {
    const c = new Controller<T>({ ...opts, logger: this.logger, metrics: this.metrics });
    this.#controllers.push(c as unknown as Controller<KubeObject>);
    if (this.#leading) void this.#startController(c as unknown as Controller<KubeObject>);
    return c;
  }

  /** True once every informer has synced and leader election is not stuck: the /readyz condition. */
  ready(): boolean {
    return this.readiness().ok;
  }

  /**
   * /readyz with its reason. A standby (another process leads) is ready: it serves and takes
   * over on failover. A candidate that cannot use its Lease at all is not, and says why.
   */
  readiness(): { ok: boolean; detail: string } {
    const problem = this.#elector?.problem();
    if (problem) return { ok: false, detail: `leader election: ${problem.message}` };
    const unsynced = [...this.#informers.values()].filter((i) => !i.hasSynced()).length;
    if (unsynced > 0) return { ok: false, detail: `${unsynced} informer cache(s) not synced yet` };
    if (this.#elector && !this.#leading)
      return { ok: true, detail: 'ok (standby: another process holds the leader Lease)' };
    return { ok: true, detail: 'ok' };
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /**
   * Runs until stop() (resolves) or the lease is lost (rejects with
   * OPERATOR_LEADERSHIP_LOST). Shutdown is complete when this settles.
   */
  run(): Promise<void> {
    this.#running ??= this.#run();
    return this.#running;
  }

  /** Requests a graceful stop; await run() for completion. */
  stop(): void {
    this.#stop.abort();
  }

  /** SIGTERM/SIGINT → graceful stop. Returns a function that removes the handlers. */
  installSignalHandlers(): () => void {
    const onSignal = (sig: NodeJS.Signals) => {
      this.logger.info({ signal: sig }, 'shutting down');
      this.stop();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    return () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    };
  }

  async #run(): Promise<void> {
    for (const inf of this.#informers.values()) inf.start();
    let lost = false;
    const le = this.#opts.leaderElection;
    if (le) {
      this.#elector = new LeaderElector({
        client: this.client,
        namespace: le.namespace,
        name: le.name,
        identity: le.identity ?? `${hostname()}_${randomUUID()}`,
        ...(le.leaseDurationMs === undefined ? {} : { leaseDurationMs: le.leaseDurationMs }),
        ...(le.renewDeadlineMs === undefined ? {} : { renewDeadlineMs: le.renewDeadlineMs }),
        ...(le.retryPeriodMs === undefined ? {} : { retryPeriodMs: le.retryPeriodMs }),
        ...(le.failAfterMs === undefined ? {} : { failAfterMs: le.failAfterMs }),
        logger: this.logger,
        metrics: this.metrics,
        onStartedLeading: () => this.#startLeading(),
        // Stop reconciling the moment leadership ends, before releasing the lease. A deposed
        // leader drains no longer than the margin before a standby may take over.
        onStoppedLeading: (why) =>
          this.#stopControllers(
            why === 'lost' ? Math.min(this.#shutdownTimeoutMs(), this.#elector?.stopMarginMs ?? 0) : undefined,
          ),
      });
      try {
        lost = (await this.#elector.run(this.#stop.signal)) === 'lost';
      } catch (err) {
        // Never led (the Lease was unusable): nothing to drain, but the informers must stop.
        await Promise.all([...this.#informers.values()].map((i) => i.stop()));
        throw err;
      }
    } else {
      this.#startLeading();
      await new Promise<void>((resolve) =>
        this.#stop.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      await this.#stopControllers();
    }
    await Promise.all([...this.#informers.values()].map((i) => i.stop()));
    this.logger.info({ lost }, 'manager stopped');
    if (lost)
      throw new OperatorError(
        ErrorCodes.LEADERSHIP_LOST,
        `lost the leader Lease ${le?.namespace}/${le?.name}: ${this.#elector?.lossReason() ?? 'unknown reason'}; ` +
          'stopped reconciling (exits for its Deployment to restart it with fresh state)',
      );
  }

  #startLeading(): void {
    this.#leading = true;
    for (const c of this.#controllers) void this.#startController(c);
  }

  async #startController(c: Controller<KubeObject>): Promise<void> {
    try {
      await c.start(this.#stop.signal);
    } catch (err) {
      if (!this.#stop.signal.aborted) this.logger.error({ err, controller: c.name }, 'controller failed to start');
    }
  }

  #shutdownTimeoutMs(): number {
    return this.#opts.shutdownTimeoutMs ?? 30_000;
  }

  async #stopControllers(deadlineMs?: number): Promise<void> {
    this.#leading = false;
    const deadline = deadlineMs ?? this.#shutdownTimeoutMs();
    const results = await Promise.allSettled(this.#controllers.map((c) => c.stop(deadline)));
    for (const r of results)
      if (r.status === 'rejected') this.logger.warn({ err: r.reason as unknown }, 'controller did not drain in time');
  }
}
