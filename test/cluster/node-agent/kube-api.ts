// A small JSON REST client for the kube-apiserver. The agent uses raw JSON rather than the
// generated client-node APIs so that it controls content types (merge patch on `pods/status`,
// `pods/binding`, TokenRequest, Lease MicroTime strings) and sees one object shape everywhere
// (the client-node informer delivers watch events as raw JSON too).
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { Cluster, User } from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';
import { NodeAgentError } from './errors.ts';

export interface KubeApiOptions {
  server: string;
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  headers: Record<string, string>;
  rejectUnauthorized?: boolean;
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  timeoutMs?: number;
}

export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';

export class KubeApi {
  readonly server: URL;
  readonly #headers: Record<string, string>;
  readonly #dispatcher: Agent;

  constructor(opts: KubeApiOptions) {
    this.server = new URL(opts.server);
    this.#headers = opts.headers;
    this.#dispatcher = new Agent({
      connect: {
        ...(opts.ca === undefined ? {} : { ca: opts.ca }),
        ...(opts.cert === undefined ? {} : { cert: opts.cert }),
        ...(opts.key === undefined ? {} : { key: opts.key }),
        ...(opts.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: opts.rejectUnauthorized }),
      },
      keepAliveTimeout: 30_000,
    });
  }

  /** Host and port of the API server, as containers see it (KUBERNETES_SERVICE_HOST/PORT). */
  get host(): string {
    return this.server.hostname;
  }

  get port(): string {
    return this.server.port || (this.server.protocol === 'https:' ? '443' : '80');
  }

  static async fromKubeConfig(kc: KubeConfig): Promise<KubeApi> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new NodeAgentError('NODE_AGENT_KUBECONFIG', 'kubeconfig has no current cluster');
    const opts: {
      ca?: string | Buffer;
      cert?: string | Buffer;
      key?: string | Buffer;
      headers?: Record<string, unknown>;
      rejectUnauthorized?: boolean;
    } = {};
    await kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k] = String(v);
    return new KubeApi({
      server: cluster.server,
      ...(opts.ca === undefined ? {} : { ca: opts.ca }),
      ...(opts.cert === undefined ? {} : { cert: opts.cert }),
      ...(opts.key === undefined ? {} : { key: opts.key }),
      headers,
      ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
    });
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { ...this.#headers, accept: 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    let res;
    try {
      res = await fetch(url, {
        method,
        headers,
        dispatcher: this.#dispatcher,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
        ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      });
    } catch (cause) {
      throw new NodeAgentError(
        'NODE_AGENT_API',
        `${method} ${url.pathname}: request failed (${(cause as Error).message})`,
        { cause },
      );
    }
    const text = await res.text();
    if (!res.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // not a Status object; keep the raw text
      }
      throw new NodeAgentError('NODE_AGENT_API', `${method} ${url.pathname}: ${res.status} ${message}`, {
        status: res.status,
      });
    }
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  get<T>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('GET', path, query === undefined ? {} : { query });
  }

  post<T>(path: string, body: unknown, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('POST', path, { body, ...(query === undefined ? {} : { query }) });
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }

  patch<T>(path: string, body: unknown, contentType: string = MERGE_PATCH): Promise<T> {
    return this.request<T>('PATCH', path, { body, contentType });
  }

  delete<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('DELETE', path, body === undefined ? {} : { body });
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }
}

/**
 * Loads the admin kubeconfig; `--api-server` / `--ca-file` override the current cluster's
 * server and CA (the credentials stay those of the kubeconfig's current user).
 */
export function loadKubeConfig(file: string, apiServer?: string, caFile?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (cause) {
    throw new NodeAgentError('NODE_AGENT_KUBECONFIG', `cannot load kubeconfig ${file}`, { cause });
  }
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster || !user)
    throw new NodeAgentError(
      'NODE_AGENT_KUBECONFIG',
      `kubeconfig ${file} has no current context with a cluster and a user`,
    );
  if (apiServer === undefined && caFile === undefined) return kc;
  const overridden: Cluster = {
    ...cluster,
    server: apiServer ?? cluster.server,
    ...(caFile === undefined ? {} : { caFile, caData: readFileSync(caFile).toString('base64') }),
  };
  const out = new KubeConfig();
  out.loadFromClusterAndUser(overridden, user satisfies User);
  return out;
}
