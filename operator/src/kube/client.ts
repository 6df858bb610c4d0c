// A small JSON REST client for the kube-apiserver on node:https with a keep-alive Agent.
// Why not the generated client-node APIs: they deserialize into model classes (Date
// timestamps) while watch events arrive as raw JSON, so a cache fed by both holds two
// shapes; they cannot address subresources generically; and loading them costs ~80 MB RSS.
// Why not undici: ~22 MB more RSS than the built-in https stack, for nothing we need here.
// Every object here is wire JSON.
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { ErrorCodes, KubeApiError, KubeTransportError, OperatorError, type KubeStatus } from './errors.ts';
import { ApiHealth } from './api-health.ts';
import { connectionFromKubeConfig, loadDefaultConnection, type Connection } from './kubeconfig.ts';
import { apiVersionOf, resourcePath, type KubeObject, type ResourceType } from './api-resources.ts';

export const PatchTypes = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategicMerge: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;
export type PatchType = (typeof PatchTypes)[keyof typeof PatchTypes];

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Whole-request deadline; default the client's `timeoutMs`. */
  timeoutMs?: number;
}

export interface KubeList<T> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** An autoscaling/v1 Scale: what an object's scale subresource reads and writes. */
export interface Scale extends KubeObject {
  spec?: { replicas?: number };
  status?: { replicas?: number; selector?: string };
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
export interface WatchEvent<T> {
  type: WatchEventType;
  object: T;
}

export interface ListOptions {
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
}

export interface KubeClientOptions {
  userAgent?: string;
  /**
   * Default whole-request deadline (not applied to watches, whose liveness the informer
   * bounds): a hung apiserver fails a request after this long instead of stalling its caller.
   * Default 30 s (the operator's --kube-request-timeout).
   */
  timeoutMs?: number;
  /** Max sockets to the API server. Watches hold one each. */
  connections?: number;
}

// Auth headers are re-derived at most this often, so rotating service-account tokens and
// exec-plugin credentials are picked up without paying for it on every request.
const AUTH_REFRESH_MS = 60_000;

export class KubeClient {
  readonly server: URL;
  /** The namespace of the kubeconfig context or service account, if any. */
  readonly namespace: string | undefined;
  /** Every request's and watch's outcome: the trouble log lines and metrics (api-health.ts). */
  readonly health: ApiHealth;
  readonly #conn: Connection;
  readonly #agent: http.Agent;
  readonly #userAgent: string;
  readonly #timeoutMs: number;
  #auth: { headers: Record<string, string>; at: number } | undefined;

  constructor(conn: Connection, opts: KubeClientOptions = {}) {
    this.#conn = conn;
    this.server = new URL(conn.server);
    this.namespace = conn.namespace;
    const agentOpts = { keepAlive: true, maxSockets: opts.connections ?? 64, scheduling: 'lifo' as const };
    this.#agent =
      this.server.protocol === 'http:'
        ? new http.Agent(agentOpts)
        : new https.Agent({
            ...agentOpts,
            ...(conn.ca === undefined ? {} : { ca: conn.ca }),
            ...(conn.cert === undefined ? {} : { cert: conn.cert }),
            ...(conn.key === undefined ? {} : { key: conn.key }),
            ...(conn.skipTLSVerify ? { rejectUnauthorized: false } : {}),
          });
    this.#userAgent = opts.userAgent ?? 'tributary-operator';
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.health = new ApiHealth({ server: this.server.origin });
  }

  /** The default whole-request deadline, ms. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** $KUBECONFIG, ~/.kube/config, or the in-cluster service account, like kubectl. */
  static async fromDefault(opts: KubeClientOptions = {}): Promise<KubeClient> {
    return new KubeClient(await loadDefaultConnection(), opts);
  }

  /** From a client-node KubeConfig the caller already loaded. */
  static async fromKubeConfig(kc: KubeConfig, opts: KubeClientOptions = {}): Promise<KubeClient> {
    return new KubeClient(await connectionFromKubeConfig(kc), opts);
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = this.#url(path, opts.query);
    const headers = await this.#headers(opts.body === undefined ? undefined : (opts.contentType ?? 'application/json'));
    const timeoutMs = opts.timeoutMs ?? this.#timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    const body =
      opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    let res: IncomingMessage;
    let text: string;
    const sentAt = performance.now();
    // Slow is judged against --kube-request-timeout, not a deadline a caller cut short (a lease renewal's).
    const took = (answered: boolean) =>
      this.health.took(method, url.pathname, performance.now() - sentAt, this.#timeoutMs, answered);
    try {
      res = await this.#send(method, url, headers, body, signal);
      text = await readAll(res);
    } catch (cause) {
      const timedOut = timeout.aborted && !opts.signal?.aborted;
      const err = new KubeTransportError(
        timedOut
          ? `${method} ${url.pathname}: no answer within ${timeoutMs} ms (${opts.timeoutMs === undefined ? 'kube request timeout' : 'its deadline'})`
          : `${method} ${url.pathname}: ${(cause as Error).message}`,
        { cause, timedOut },
      );
      took(false);
      if (!opts.signal?.aborted) this.health.failed(method, err);
      throw err;
    }
    took(true);
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) {
      const err = apiError(method, url, status, text, res.headers['retry-after']);
      this.health.failed(method, err);
      throw err;
    }
    this.health.ok();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  // --- typed helpers over a ResourceType -------------------------------------------------

  get<T extends KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<T> {
    return this.request<T>('GET', resourcePath(rt, { namespace, name }), opts);
  }

  list<T extends KubeObject>(
    rt: ResourceType,
    namespace?: string,
    opts: ListOptions & { signal?: AbortSignal } = {},
  ): Promise<KubeList<T>> {
    const { signal, ...query } = opts;
    return this.request<KubeList<T>>('GET', resourcePath(rt, { namespace }), {
      query: { ...query },
      ...(signal ? { signal } : {}),
    });
  }

  create<T extends KubeObject>(rt: ResourceType, obj: T, opts: { fieldManager?: string } = {}): Promise<T> {
    const body = { apiVersion: apiVersionOf(rt), kind: rt.kind, ...obj };
    return this.request<T>('POST', resourcePath(rt, { namespace: obj.metadata?.namespace }), {
      body,
      query: { fieldManager: opts.fieldManager },
    });
  }

  /** PUT; carries `metadata.resourceVersion` if set, so a stale write fails with 409. */
  replace<T extends KubeObject>(
    rt: ResourceType,
    obj: T,
    opts: { subresource?: string; fieldManager?: string; timeoutMs?: number } = {},
  ): Promise<T> {
    const body = { apiVersion: apiVersionOf(rt), kind: rt.kind, ...obj };
    const path = resourcePath(rt, {
      namespace: obj.metadata?.namespace,
      name: obj.metadata?.name,
      subresource: opts.subresource,
    });
    const timeout = opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs };
    return this.request<T>('PUT', path, { body, query: { fieldManager: opts.fieldManager }, ...timeout });
  }

  patch<T extends KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    opts: { type?: PatchType; subresource?: string; fieldManager?: string; force?: boolean } = {},
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(rt, { namespace, name, subresource: opts.subresource }), {
      body: patch,
      contentType: opts.type ?? PatchTypes.merge,
      query: { fieldManager: opts.fieldManager, force: opts.force },
    });
  }

  /**
   * Sets the replicas of an object with a scale subresource (merge patch of its autoscaling/v1 Scale), under
   * `fieldManager`: the object's managedFields name who chose the value, as `kubectl scale` or an HPA would be
   * named. A missing object fails with NotFound, its message naming the object's path. With `resourceVersion`
   * (the object's, which its Scale shares) the write is conditional, as an HPA's is: an object changed since that
   * version fails with 409 Conflict instead of being overwritten.
   */
  scale(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    replicas: number,
    fieldManager: string,
    resourceVersion?: string,
  ): Promise<Scale> {
    const patch = { ...(resourceVersion === undefined ? {} : { metadata: { resourceVersion } }), spec: { replicas } };
    return this.patch<Scale>(rt, namespace, name, patch, { subresource: 'scale', fieldManager });
  }

  /** Server-side apply of a full desired object under one field manager. */
  apply<T extends KubeObject>(
    rt: ResourceType,
    obj: T,
    fieldManager: string,
    opts: { force?: boolean; subresource?: string } = {},
  ): Promise<T> {
    const body = { apiVersion: apiVersionOf(rt), kind: rt.kind, ...obj };
    return this.patch<T>(rt, obj.metadata?.namespace, obj.metadata?.name ?? '', body, {
      type: PatchTypes.apply,
      fieldManager,
      force: opts.force ?? true,
      ...(opts.subresource === undefined ? {} : { subresource: opts.subresource }),
    });
  }

  delete(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: {
      propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
      gracePeriodSeconds?: number;
      preconditions?: { resourceVersion?: string; uid?: string };
    } = {},
  ): Promise<unknown> {
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    if (opts.preconditions) body.preconditions = opts.preconditions;
    return this.request('DELETE', resourcePath(rt, { namespace, name }), { body });
  }

  /**
   * One watch request. Calls `onEvent` for every event in order; resolves when the server
   * ends the stream (its timeoutSeconds elapsed: the caller re-watches from its last
   * resourceVersion), rejects on a transport error, a non-200 answer, or if `onEvent`
   * throws. An `ERROR` event is delivered to `onEvent`, which decides (410 → relist).
   */
  async watch<T>(path: string, query: Query, onEvent: (ev: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    const url = this.#url(path, { ...query, watch: true });
    const headers = await this.#headers(undefined);
    let res: IncomingMessage;
    try {
      // No idle timeout: a quiet watch is healthy. Liveness comes from the server's
      // timeoutSeconds and TCP keep-alive.
      res = await this.#send('GET', url, headers, undefined, signal);
    } catch (cause) {
      const err = new KubeTransportError(`watch ${url.pathname}: ${(cause as Error).message}`, { cause });
      if (!signal.aborted) this.health.failed('WATCH', err);
      throw err;
    }
    if (res.statusCode !== 200) {
      const text = await readAll(res).catch(() => '');
      const err = apiError('WATCH', url, res.statusCode ?? 0, text, res.headers['retry-after']);
      this.health.failed('WATCH', err);
      throw err;
    }
    this.health.ok();
    res.setEncoding('utf8');
    let buffered = '';
    try {
      for await (const chunk of res) {
        buffered += chunk as string;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.trim() !== '') onEvent(JSON.parse(line) as WatchEvent<T>);
        }
      }
    } catch (cause) {
      res.destroy();
      if (cause instanceof OperatorError) throw cause;
      const err = new KubeTransportError(`watch ${url.pathname}: stream failed: ${(cause as Error).message}`, {
        cause,
      });
      if (!signal.aborted) this.health.failed('WATCH', err);
      throw err;
    }
    // A stream cut mid-way (connection reset) ends the iteration on some Node versions
    // instead of throwing; `complete` tells a clean server-side end from that.
    if (!res.complete) {
      const err = new KubeTransportError(`watch ${url.pathname}: stream ended early`);
      if (!signal.aborted) this.health.failed('WATCH', err);
      throw err;
    }
  }

  /** Closes every connection; call after informers and controllers have stopped. */
  async close(): Promise<void> {
    this.health.close();
    this.#agent.destroy();
  }

  /** Tears down every connection, in-flight requests and watches included. */
  async destroy(): Promise<void> {
    this.health.close();
    this.#agent.destroy();
  }

  #send(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<IncomingMessage> {
    const lib = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        agent: this.#agent,
        signal,
      });
      req.once('response', resolve);
      req.once('error', reject);
      req.end(body);
    });
  }

  #url(path: string, query: Query | undefined): URL {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(query ?? {}))
      if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    return url;
  }

  async #headers(contentType: string | undefined): Promise<Record<string, string>> {
    if (!this.#auth || Date.now() - this.#auth.at > AUTH_REFRESH_MS) {
      let headers: Record<string, string>;
      try {
        headers = await this.#conn.authHeaders();
      } catch (cause) {
        throw new OperatorError(ErrorCodes.KUBECONFIG, `cannot obtain credentials: ${(cause as Error).message}`, {
          cause,
        });
      }
      this.#auth = { headers, at: Date.now() };
    }
    return {
      ...this.#auth.headers,
      accept: 'application/json',
      'user-agent': this.#userAgent,
      ...(contentType === undefined ? {} : { 'content-type': contentType }),
    };
  }
}

async function readAll(res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  return text;
}

function apiError(
  method: string,
  url: URL,
  statusCode: number,
  text: string,
  retryAfter: string | undefined,
): KubeApiError {
  let status: KubeStatus | undefined;
  try {
    status = JSON.parse(text) as KubeStatus;
  } catch {
    status = undefined;
  }
  const message = status?.message ?? (text.slice(0, 200) || `HTTP ${statusCode}`);
  const retryAfterMs = parseRetryAfter(retryAfter);
  const wait = retryAfterMs === undefined ? '' : ` (Retry-After ${retryAfterMs / 1000} s)`;
  return new KubeApiError(statusCode, `${method} ${url.pathname}: ${statusCode} ${message}${wait}`, status, {
    retryAfterMs,
  });
}

/** Retry-After as delay-seconds or an HTTP date, in ms (capped at 10 min); undefined if absent or unreadable. */
function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(0, Math.round(ms)), 600_000);
}
