// An informer: list+watch of one resource type into an in-memory cache, with handlers.
// Written on our REST client instead of client-node's ListWatch because ListWatch stops for
// good on any non-410 error, delivers updates without the old object, and mixes model
// objects (from list) with raw JSON (from watch).
//
// Invariants:
// - After the first successful list, `hasSynced()` stays true; the cache is then kept
//   current by one long-lived watch that resumes from the last seen resourceVersion.
// - A watch the server ends normally (timeoutSeconds) is re-opened from that
//   resourceVersion: no list. Bookmarks keep the resourceVersion fresh on quiet resources.
// - 410 Gone (resourceVersion compacted) → relist at once; the relist diff fires add,
//   update and delete handlers, so nothing that happened while disconnected is missed.
// - Any other error (connection refused while the API server restarts, 403, 404 while a
//   CRD is missing, …) → retry with capped, jittered exponential backoff (at least the
//   server's Retry-After), forever, until stop(). The cache keeps serving its last state
//   meanwhile. A backoff caused by apiserver trouble (no answer, 429, 5xx: api-health.ts) ends
//   early as soon as any request of the client is answered again, so a returning apiserver
//   is noticed by every informer at once, not each after its own backoff.
// - Logging: apiserver trouble is the client's ApiHealth's to report (one warning when it
//   starts, then at most every 30 s); each retry here is debug. Other failures (403, 404) warn
//   on the first failure and then at most every 30 s, never once per retry.
// - A watch lasts at most its timeoutSeconds + 30 s: one whose server froze (SIGSTOP, a hung
//   connection) fails then and is re-opened, instead of waiting for ever.
// - Handlers run synchronously on the event loop in event order; one that throws is
//   logged and does not break the informer. Handlers must not mutate the objects.
// - No periodic relists: a controller's resync, if any, re-reads this cache.
import type { Logger } from '../telemetry/logger.ts';
import { silentLogger } from '../telemetry/logger.ts';
import type { KubeMetrics } from '../telemetry/metrics.ts';
import type { KubeClient, WatchEvent } from './client.ts';
import { KubeApiError, isGone, retryAfterMsOf, type KubeStatus } from './errors.ts';
import { isApiserverTrouble } from './api-health.ts';
import { resourceId, resourcePath, type KubeObject, type ResourceType } from './api-resources.ts';

/** A watch ends this long after the timeoutSeconds it asked the server for, answered or not. */
const WATCH_GRACE_SECONDS = 30;
/** Failures other than apiserver trouble warn at most this often per informer. */
const WARN_EVERY_MS = 30_000;

export interface InformerHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** After a relist, `obj` is the last state seen before the object vanished. */
  onDelete?(obj: T): void;
}

/** Values an object is indexed under, e.g. `ns/job` from the `tributary.dev/job` label. */
export type IndexFunc<T> = (obj: T) => readonly string[];

export interface InformerOptions<T extends KubeObject> {
  client: KubeClient;
  resource: ResourceType;
  /** Watch one namespace; all namespaces if unset. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Applied to every object before it is cached. Default: drop `metadata.managedFields`,
   * which no controller reads and which is often most of an object's size.
   */
  transform?: (obj: T) => T;
  logger?: Logger;
  metrics?: KubeMetrics;
  backoff?: { initialMs?: number; maxMs?: number };
  /** Server-side watch timeout; each watch picks a random value in [min, 2·min) like client-go. */
  minWatchTimeoutSeconds?: number;
  /** Page size of the initial list and relists. */
  pageSize?: number;
}

export function stripManagedFields<T extends KubeObject>(obj: T): T {
  if (obj.metadata?.managedFields !== undefined) delete obj.metadata.managedFields;
  return obj;
}

export class Informer<T extends KubeObject> {
  readonly resource: ResourceType;
  readonly namespace: string | undefined;
  readonly labelSelector: string | undefined;
  readonly fieldSelector: string | undefined;
  readonly #client: KubeClient;
  readonly #transform: (obj: T) => T;
  readonly #log: Logger;
  readonly #metrics: KubeMetrics | undefined;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #minWatchTimeout: number;
  readonly #pageSize: number;
  /** namespace ('' for cluster-scoped) → name → object */
  readonly #cache = new Map<string, Map<string, T>>();
  readonly #handlers = new Set<InformerHandlers<T>>();
  /** index name → (index value → set of cache keys `ns/name`) */
  readonly #indexes = new Map<string, { fn: IndexFunc<T>; values: Map<string, Set<string>> }>();
  readonly #syncWaiters: Array<() => void> = [];
  #resourceVersion = '';
  #synced = false;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #wakeBackoff: (() => void) | undefined;
  #failures = 0;
  #lastWarnAt = 0;

  constructor(opts: InformerOptions<T>) {
    this.#client = opts.client;
    this.resource = opts.resource;
    this.namespace = opts.namespace;
    this.labelSelector = opts.labelSelector;
    this.fieldSelector = opts.fieldSelector;
    this.#transform = opts.transform ?? stripManagedFields;
    this.#metrics = opts.metrics;
    this.#initialBackoffMs = opts.backoff?.initialMs ?? 800;
    this.#maxBackoffMs = opts.backoff?.maxMs ?? 30_000;
    this.#minWatchTimeout = opts.minWatchTimeoutSeconds ?? 300;
    this.#pageSize = opts.pageSize ?? 500;
    this.#log = (opts.logger ?? silentLogger()).child({
      informer: resourceId(this.resource),
      namespace: this.namespace ?? '*',
      // Two informers of one resource differ by their selectors: their lines must too.
      ...(this.labelSelector ? { labelSelector: this.labelSelector } : {}),
      ...(this.fieldSelector ? { fieldSelector: this.fieldSelector } : {}),
    });
  }

  /** Registers handlers; if the cache already holds objects, replays them as adds. Returns an unsubscribe. */
  addHandler(h: InformerHandlers<T>): () => void {
    this.#handlers.add(h);
    if (h.onAdd) for (const obj of this.list()) this.#call(() => h.onAdd?.(obj));
    return () => this.#handlers.delete(h);
  }

  start(): void {
    if (this.#loop) return;
    this.#abort = new AbortController();
    this.#loop = this.#run(this.#abort.signal);
  }

  async stop(): Promise<void> {
    this.#abort?.abort();
    this.#wakeBackoff?.();
    await this.#loop;
    this.#loop = undefined;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /** The cached object; `namespace` is ignored for cluster-scoped resources. Do not mutate it. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(this.resource.namespaced ? (namespace ?? '') : '')?.get(name);
  }

  /** Cached objects of one namespace, or all. Do not mutate them. */
  list(namespace?: string): T[] {
    if (namespace !== undefined) return [...(this.#cache.get(namespace)?.values() ?? [])];
    const out: T[] = [];
    for (const m of this.#cache.values()) out.push(...m.values());
    return out;
  }

  /**
   * Adds an index maintained on every cache change, so lookups such as "the pods of job
   * ns/x" cost O(result) instead of a scan. Indexes existing objects immediately.
   */
  addIndex(name: string, fn: IndexFunc<T>): void {
    const values = new Map<string, Set<string>>();
    this.#indexes.set(name, { fn, values });
    for (const obj of this.list()) this.#index(obj, undefined);
  }

  /** Cached objects indexed under `value` by index `name` (empty for an unknown index). */
  byIndex(name: string, value: string): T[] {
    const keys = this.#indexes.get(name)?.values.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const slash = k.indexOf('/');
      const obj = this.#cache.get(k.slice(0, slash))?.get(k.slice(slash + 1));
      if (obj) out.push(obj);
    }
    return out;
  }

  get size(): number {
    let n = 0;
    for (const m of this.#cache.values()) n += m.size;
    return n;
  }

  /** The resourceVersion the next watch resumes from ('' = must relist). */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  async #run(signal: AbortSignal): Promise<void> {
    const path = resourcePath(this.resource, { namespace: this.namespace });
    while (!signal.aborted) {
      try {
        if (this.#resourceVersion === '') await this.#relist(signal);
        const timeoutSeconds = this.#minWatchTimeout + Math.floor(Math.random() * this.#minWatchTimeout);
        const deadline = AbortSignal.timeout((timeoutSeconds + WATCH_GRACE_SECONDS) * 1000);
        await this.#client.watch<T>(
          path,
          {
            resourceVersion: this.#resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
            labelSelector: this.labelSelector,
            fieldSelector: this.fieldSelector,
          },
          (ev) => this.#onEvent(ev),
          AbortSignal.any([signal, deadline]),
        );
        this.#failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          this.#log.info({ resourceVersion: this.#resourceVersion }, 'watch resourceVersion expired; relisting');
          this.#resourceVersion = '';
          continue;
        }
        this.#failures++;
        this.#metrics?.informerRestarts.inc({ resource: resourceId(this.resource) });
        const trouble = isApiserverTrouble(err);
        const delay = Math.max(this.#backoff(), retryAfterMsOf(err) ?? 0);
        const fields = { err, attempt: this.#failures, retryInMs: delay };
        if (!trouble && Date.now() - this.#lastWarnAt >= WARN_EVERY_MS) {
          this.#lastWarnAt = Date.now();
          this.#log.warn(fields, 'list/watch failed; retrying with backoff (next warning in 30 s at the earliest)');
        } else {
          this.#log.debug(fields, 'list/watch failed; retrying');
        }
        await this.#sleep(delay, signal, trouble);
      }
    }
  }

  async #relist(signal: AbortSignal): Promise<void> {
    this.#metrics?.informerRelists.inc({ resource: resourceId(this.resource) });
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.#client.list<T>(this.resource, this.namespace, {
        labelSelector: this.labelSelector,
        fieldSelector: this.fieldSelector,
        limit: this.#pageSize,
        ...(cont ? { continue: cont } : {}),
        signal,
      });
      items.push(...page.items);
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion ?? '';
    } while (cont);
    this.#replace(items);
    this.#resourceVersion = rv;
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters.splice(0)) w();
    }
    this.#log.debug({ count: items.length, resourceVersion: rv }, 'listed');
  }

  #replace(items: T[]): void {
    const seen = new Map<string, Set<string>>();
    for (const raw of items) {
      const obj = this.#transform(raw);
      const ns = obj.metadata?.namespace ?? '';
      const name = obj.metadata?.name ?? '';
      let names = seen.get(ns);
      if (!names) seen.set(ns, (names = new Set()));
      names.add(name);
      this.#upsert(obj);
    }
    for (const [ns, objs] of this.#cache) {
      const names = seen.get(ns);
      for (const [name, obj] of objs) if (!names?.has(name)) this.#remove(obj);
    }
  }

  #onEvent(ev: WatchEvent<T>): void {
    switch (ev.type) {
      case 'ADDED':
      case 'MODIFIED':
        this.#upsert(this.#transform(ev.object));
        break;
      case 'DELETED':
        this.#remove(this.#transform(ev.object));
        break;
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        const status = ev.object as unknown as KubeStatus;
        throw new KubeApiError(
          status.code ?? 500,
          `watch ${resourceId(this.resource)}: ${status.message ?? 'error event'}`,
          status,
        );
      }
    }
    const rv = ev.object.metadata?.resourceVersion;
    if (rv) this.#resourceVersion = rv;
  }

  #upsert(obj: T): void {
    const ns = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    let objs = this.#cache.get(ns);
    if (!objs) this.#cache.set(ns, (objs = new Map()));
    const old = objs.get(name);
    if (old && old.metadata?.resourceVersion === obj.metadata?.resourceVersion) return;
    objs.set(name, obj);
    this.#index(obj, old);
    for (const h of this.#handlers) {
      if (old) this.#call(() => h.onUpdate?.(old, obj));
      else this.#call(() => h.onAdd?.(obj));
    }
  }

  #remove(obj: T): void {
    const ns = obj.metadata?.namespace ?? '';
    const objs = this.#cache.get(ns);
    const name = obj.metadata?.name ?? '';
    const old = objs?.get(name);
    if (!objs || !old) return;
    objs.delete(name);
    if (objs.size === 0) this.#cache.delete(ns);
    this.#index(undefined, old);
    for (const h of this.#handlers) this.#call(() => h.onDelete?.(obj));
  }

  #index(obj: T | undefined, old: T | undefined): void {
    if (this.#indexes.size === 0) return;
    const ref = obj ?? old;
    const key = `${ref?.metadata?.namespace ?? ''}/${ref?.metadata?.name ?? ''}`;
    for (const { fn, values } of this.#indexes.values()) {
      if (old) {
        for (const v of fn(old)) {
          const set = values.get(v);
          set?.delete(key);
          if (set?.size === 0) values.delete(v);
        }
      }
      if (obj) {
        for (const v of fn(obj)) {
          let set = values.get(v);
          if (!set) values.set(v, (set = new Set()));
          set.add(key);
        }
      }
    }
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.error({ err }, 'informer handler threw');
    }
  }

  #backoff(): number {
    const exp = Math.min(this.#maxBackoffMs, this.#initialBackoffMs * 2 ** Math.min(this.#failures - 1, 20));
    // Full jitter in [exp/2, exp): many informers failing together do not retry in lockstep.
    return Math.floor(exp / 2 + Math.random() * (exp / 2));
  }

  /** Sleeps `ms`, or until stop(), or (`untilRecovered`) until the client's apiserver answers again. */
  #sleep(ms: number, signal: AbortSignal, untilRecovered = false): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const unsubscribe = untilRecovered ? this.#client.health.onRecovered(done) : () => undefined;
      function done(): void {
        clearTimeout(t);
        unsubscribe();
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
      this.#wakeBackoff = done;
    });
  }
}
