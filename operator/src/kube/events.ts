// A Kubernetes Event recorder (core/v1 Events, which `kubectl describe` shows).
//
// A hot-looping reconcile must not flood etcd, so, like client-go's EventCorrelator:
// - aggregation: an event identical to a recent one (same object, type, reason, message)
//   PATCHes the existing Event's `count` and `lastTimestamp` instead of creating a new one;
// - spam filter: a token bucket per involved object (burst 25, one token per 5 minutes)
//   drops events beyond that, creates and patches alike.
// Recording never throws: failures are logged and counted. Events for one aggregation key
// are serialized so that quick repeats do not race into two Event objects.
import { isApiserverTrouble } from './api-health.ts';
import type { Logger } from '../telemetry/logger.ts';
import { silentLogger } from '../telemetry/logger.ts';
import type { KubeMetrics } from '../telemetry/metrics.ts';
import type { KubeClient } from './client.ts';
import { PatchTypes } from './client.ts';
import { isNotFound } from './errors.ts';
import { Resources, type KubeObject } from './api-resources.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  client: KubeClient;
  /** `source.component` / `reportingComponent`, e.g. `tributary-operator`. */
  component: string;
  /** `reportingInstance`, e.g. the pod name. */
  instance?: string;
  logger?: Logger;
  metrics?: KubeMetrics;
  spamBurst?: number;
  spamRefillMs?: number;
  /** Aggregation keys remembered (LRU). */
  cacheSize?: number;
  now?: () => Date;
}

interface CoreEvent extends KubeObject {
  count?: number;
  lastTimestamp?: string;
}

interface Aggregate {
  namespace: string;
  name: string;
  count: number;
}

interface Bucket {
  tokens: number;
  last: number;
}

function seconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #component: string;
  readonly #instance: string;
  readonly #log: Logger;
  readonly #metrics: KubeMetrics | undefined;
  readonly #burst: number;
  readonly #refillMs: number;
  readonly #cacheSize: number;
  readonly #now: () => Date;
  readonly #aggregates = new Map<string, Aggregate>();
  readonly #buckets = new Map<string, Bucket>();
  readonly #chains = new Map<string, Promise<void>>();

  constructor(opts: EventRecorderOptions) {
    this.#client = opts.client;
    this.#component = opts.component;
    this.#instance = opts.instance ?? process.env.HOSTNAME ?? opts.component;
    this.#log = (opts.logger ?? silentLogger()).child({ component: 'event-recorder' });
    this.#metrics = opts.metrics;
    this.#burst = opts.spamBurst ?? 25;
    this.#refillMs = opts.spamRefillMs ?? 300_000;
    this.#cacheSize = opts.cacheSize ?? 4096;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Records an event about `obj`. Resolves when written (or dropped); never rejects. */
  record(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const uid = obj.metadata?.uid ?? '';
    const objKey = `${obj.kind ?? ''}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}/${uid}`;
    const aggKey = `${objKey}\u0000${type}\u0000${reason}\u0000${message}`;
    const prev = this.#chains.get(aggKey) ?? Promise.resolve();
    const next = prev.then(() => this.#record(obj, objKey, aggKey, type, reason, message));
    this.#chains.set(aggKey, next);
    void next.finally(() => {
      if (this.#chains.get(aggKey) === next) this.#chains.delete(aggKey);
    });
    return next;
  }

  normal(obj: KubeObject, reason: string, message: string): Promise<void> {
    return this.record(obj, 'Normal', reason, message);
  }

  warning(obj: KubeObject, reason: string, message: string): Promise<void> {
    return this.record(obj, 'Warning', reason, message);
  }

  async #record(
    obj: KubeObject,
    objKey: string,
    aggKey: string,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    if (!this.#take(objKey)) {
      this.#metrics?.events.inc({ result: 'dropped' });
      this.#log.debug({ object: objKey, reason }, 'event dropped by spam filter');
      return;
    }
    const now = this.#now();
    try {
      const agg = this.#aggregates.get(aggKey);
      if (agg) {
        try {
          const count = agg.count + 1;
          await this.#client.patch<CoreEvent>(
            Resources.Event,
            agg.namespace,
            agg.name,
            { count, lastTimestamp: seconds(now) },
            { type: PatchTypes.merge },
          );
          agg.count = count;
          this.#touch(aggKey, agg);
          this.#metrics?.events.inc({ result: 'aggregated' });
          return;
        } catch (err) {
          // Events expire (1h TTL by default); start a new one.
          if (!isNotFound(err)) throw err;
          this.#aggregates.delete(aggKey);
        }
      }
      const namespace = obj.metadata?.namespace || 'default';
      const name = `${obj.metadata?.name ?? 'object'}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString(16)}`;
      const event = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata?.name,
          namespace: obj.metadata?.namespace,
          uid: obj.metadata?.uid,
          resourceVersion: obj.metadata?.resourceVersion,
        },
        reason,
        message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
        type,
        source: { component: this.#component },
        reportingComponent: this.#component,
        reportingInstance: this.#instance,
        firstTimestamp: seconds(now),
        lastTimestamp: seconds(now),
        eventTime: null,
        count: 1,
      };
      await this.#client.create(Resources.Event, event as KubeObject);
      this.#touch(aggKey, { namespace, name, count: 1 });
      this.#metrics?.events.inc({ result: 'created' });
    } catch (err) {
      this.#metrics?.events.inc({ result: 'failed' });
      // An Event lost to apiserver trouble is counted; the client's ApiHealth already warned about the trouble.
      if (isApiserverTrouble(err)) this.#log.debug({ err, object: objKey, reason }, 'recording an event failed');
      else this.#log.warn({ err, object: objKey, reason }, 'recording an event failed');
    }
  }

  #touch(aggKey: string, agg: Aggregate): void {
    this.#aggregates.delete(aggKey);
    this.#aggregates.set(aggKey, agg);
    if (this.#aggregates.size > this.#cacheSize) {
      const oldest = this.#aggregates.keys().next().value;
      if (oldest !== undefined) this.#aggregates.delete(oldest);
    }
  }

  #take(objKey: string): boolean {
    const now = this.#now().getTime();
    let b = this.#buckets.get(objKey);
    if (!b) {
      b = { tokens: this.#burst, last: now };
      this.#buckets.set(objKey, b);
      if (this.#buckets.size > this.#cacheSize) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
    }
    b.tokens = Math.min(this.#burst, b.tokens + (now - b.last) / this.#refillMs);
    b.last = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
