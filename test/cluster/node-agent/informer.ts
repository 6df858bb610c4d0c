// A list+watch cache that never gives up. client-node's `makeInformer` stops for good on any
// error other than 410 Gone (the API server restarting, a dropped connection during list);
// this wrapper restarts it with exponential backoff (0.5s doubling to 30s, reset after a
// successful list or event). Restarting resumes the watch from the last resourceVersion; a
// too-old version yields 410 and the ListWatch relists by itself.
import { makeInformer } from '@kubernetes/client-node';
import type {
  Informer,
  KubeConfig,
  KubernetesListObject,
  KubernetesObject,
  ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { errorMessage } from './errors.ts';
import type { KubeApi } from './kube-api.ts';

export type InformerEvent = 'add' | 'update' | 'delete';

export interface InformerOptions {
  kc: KubeConfig;
  api: KubeApi;
  /** Collection path, e.g. `/api/v1/pods`. */
  path: string;
  log: Logger;
  labelSelector?: string;
}

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export class ResilientInformer<T> {
  readonly #inner: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  readonly #log: Logger;
  readonly #handlers: Record<InformerEvent, ((obj: T) => void)[]> = { add: [], update: [], delete: [] };
  #backoffMs = BACKOFF_MIN_MS;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #synced = false;
  readonly #syncWaiters: (() => void)[] = [];

  constructor(opts: InformerOptions) {
    this.#log = opts.log.child({ informer: opts.path });
    const list = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const result = await opts.api.get<KubernetesListObject<KubernetesObject>>(
        opts.path,
        opts.labelSelector === undefined ? undefined : { labelSelector: opts.labelSelector },
      );
      this.#backoffMs = BACKOFF_MIN_MS;
      // The ListWatch applies the list to its cache synchronously after this promise
      // resolves; a macrotask later the cache reflects it.
      setImmediate(() => this.#markSynced());
      return result;
    };
    this.#inner = makeInformer<KubernetesObject>(opts.kc, opts.path, list, opts.labelSelector);
    for (const ev of ['add', 'update', 'delete'] as const) {
      this.#inner.on(ev, (obj: KubernetesObject) => {
        this.#backoffMs = BACKOFF_MIN_MS;
        for (const h of this.#handlers[ev]) {
          try {
            h(obj as unknown as T);
          } catch (err) {
            this.#log.error({ err, event: ev }, 'informer handler threw');
          }
        }
      });
    }
    this.#inner.on('error', (err: unknown) => this.#restartLater(err));
  }

  on(event: InformerEvent, handler: (obj: T) => void): void {
    this.#handlers[event].push(handler);
  }

  start(): void {
    this.#stopped = false;
    this.#inner.start().catch((err: unknown) => this.#restartLater(err));
  }

  /** Resolves once the first list has been applied to the cache. */
  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  list(): T[] {
    return this.#inner.list() as unknown as T[];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#inner.get(name, namespace) as unknown as T | undefined;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    void this.#inner.stop();
  }

  #markSynced(): void {
    if (this.#synced) return;
    this.#synced = true;
    for (const w of this.#syncWaiters.splice(0)) w();
  }

  #restartLater(err: unknown): void {
    if (this.#stopped || this.#timer !== undefined) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, BACKOFF_MAX_MS);
    this.#log.warn({ err: errorMessage(err), retryInMs: delay }, 'informer stopped; restarting');
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopped) return;
      this.#inner.start().catch((e: unknown) => this.#restartLater(e));
    }, delay);
  }
}
