// Client of Druid's Overlord supervisor API. Every response is read with a size limit
// (maxResponseBytes, default 8 MiB): the URL comes from a DruidDatasource, so the endpoint may
// be hostile or broken; a larger answer fails the call with DRUID_ERR_RESPONSE_TOO_LARGE.
import { Pool, type Dispatcher } from 'undici';
import { formatBytes, readBoundedBody } from '../http/bounded-body.ts';
import { DruidError } from './errors.ts';
import type { SupervisorSpec, SupervisorStatus } from './types.ts';

export interface DruidClientOptions {
  /** Router or Overlord base URL, e.g. http://druid-router:8888. */
  readonly url: string;
  readonly basicAuth?: { readonly username: string; readonly password: string };
  /** Per-request deadline; Druid answers supervisor calls in milliseconds when healthy. */
  readonly timeoutMs?: number;
  /** Largest response body read; default DEFAULT_MAX_RESPONSE_BYTES. */
  readonly maxResponseBytes?: number;
}

/** Supervisor specs and statuses are a few KiB; a running-task list of a busy datasource stays far below this. */
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

const supervisorPath = '/druid/indexer/v1/supervisor';

/**
 * One method per Overlord supervisor endpoint. Every failure is a DruidError whose code says
 * whether to retry (unreachable, 5xx) or report (4xx, with Druid's own message).
 */
export class DruidClient {
  readonly url: string;
  readonly #pool: Pool;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #maxResponseBytes: number;

  constructor(options: DruidClientOptions) {
    const base = new URL(options.url);
    this.url = base.origin;
    this.#pool = new Pool(base.origin, { connections: 4, connectTimeout: 5_000 });
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#headers = { accept: 'application/json' };
    if (options.basicAuth) {
      const token = Buffer.from(`${options.basicAuth.username}:${options.basicAuth.password}`).toString('base64');
      this.#headers.authorization = `Basic ${token}`;
    }
  }

  /** Creates or updates (Druid treats both alike); returns the supervisor id. */
  async upsertSupervisor(spec: SupervisorSpec): Promise<string> {
    const body = await this.#call('POST', supervisorPath, spec);
    const id = (body as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string')
      throw new DruidError('DRUID_ERR_BAD_RESPONSE', `POST ${supervisorPath} answered without an id`);
    return id;
  }

  /** The live spec, or undefined when no supervisor with this id exists (or it was terminated). */
  async getSupervisor(id: string): Promise<SupervisorSpec | undefined> {
    try {
      return (await this.#call('GET', `${supervisorPath}/${encodeURIComponent(id)}`)) as SupervisorSpec;
    } catch (err) {
      if (err instanceof DruidError && err.code === 'DRUID_ERR_NOT_FOUND') return undefined;
      throw err;
    }
  }

  async getStatus(id: string): Promise<SupervisorStatus | undefined> {
    let body: unknown;
    try {
      body = await this.#call('GET', `${supervisorPath}/${encodeURIComponent(id)}/status`);
    } catch (err) {
      if (err instanceof DruidError && err.code === 'DRUID_ERR_NOT_FOUND') return undefined;
      throw err;
    }
    const p = (body as { payload?: Record<string, unknown> } | undefined)?.payload;
    if (!p || typeof p.state !== 'string') {
      throw new DruidError('DRUID_ERR_BAD_RESPONSE', `supervisor ${id} status has no payload.state`);
    }
    const errors = Array.isArray(p.recentErrors) ? p.recentErrors : [];
    return {
      state: p.state,
      detailedState: typeof p.detailedState === 'string' ? p.detailedState : p.state,
      healthy: p.healthy === true,
      suspended: p.suspended === true,
      aggregateLag: typeof p.aggregateLag === 'number' ? p.aggregateLag : undefined,
      recentErrors: errors.slice(-10).map(describeError),
    };
  }

  async suspend(id: string): Promise<void> {
    await this.#call('POST', `${supervisorPath}/${encodeURIComponent(id)}/suspend`);
  }

  async resume(id: string): Promise<void> {
    await this.#call('POST', `${supervisorPath}/${encodeURIComponent(id)}/resume`);
  }

  /** Terminating an unknown or already terminated supervisor is success: the goal is reached. */
  async terminate(id: string): Promise<void> {
    try {
      await this.#call('POST', `${supervisorPath}/${encodeURIComponent(id)}/terminate`);
    } catch (err) {
      if (err instanceof DruidError && err.code === 'DRUID_ERR_NOT_FOUND') return;
      throw err;
    }
  }

  /**
   * Stops the running ingestion tasks of a datasource at once (no publishing): for tests and
   * emergencies. A terminated supervisor's tasks otherwise hold indexer slots while they publish.
   */
  async shutdownTasks(dataSource: string): Promise<number> {
    const running = await this.#call(
      'GET',
      `/druid/indexer/v1/tasks?state=running&datasource=${encodeURIComponent(dataSource)}`,
    );
    const ids = Array.isArray(running)
      ? running.map((t: { id?: unknown }) => t.id).filter((id): id is string => typeof id === 'string')
      : [];
    for (const id of ids) await this.#call('POST', `/druid/indexer/v1/task/${encodeURIComponent(id)}/shutdown`);
    return ids.length;
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  async #call(method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<unknown> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#pool.request({
        method,
        path,
        headers: body === undefined ? this.#headers : { ...this.#headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
    } catch (err) {
      throw new DruidError('DRUID_ERR_UNREACHABLE', `${method} ${this.url}${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    let read;
    try {
      read = await readBoundedBody(res.body, this.#maxResponseBytes);
    } catch (err) {
      throw new DruidError('DRUID_ERR_UNREACHABLE', `${method} ${this.url}${path}: body: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const status = res.statusCode;
    if (!read.ok)
      throw new DruidError(
        'DRUID_ERR_RESPONSE_TOO_LARGE',
        `${method} ${this.url}${path} → ${status}: response body larger than ${formatBytes(read.limit)} (the limit); not read`,
        { status },
      );
    const text = read.text;
    if (status >= 200 && status < 300) {
      if (text === '') return undefined;
      try {
        return JSON.parse(text);
      } catch (err) {
        throw new DruidError(
          'DRUID_ERR_BAD_RESPONSE',
          `${method} ${path} answered ${status} with non-JSON: ${text.slice(0, 200)}`,
          {
            status,
            cause: err,
          },
        );
      }
    }
    const message = druidMessage(text);
    const where = `${method} ${this.url}${path} → ${status}`;
    if (status === 404) throw new DruidError('DRUID_ERR_NOT_FOUND', `${where}: ${message}`, { status });
    if (status === 401 || status === 403)
      throw new DruidError('DRUID_ERR_UNAUTHORIZED', `${where}: ${message}`, { status });
    if (status >= 500) throw new DruidError('DRUID_ERR_SERVER', `${where}: ${message}`, { status });
    throw new DruidError('DRUID_ERR_REJECTED', `${where}: ${message}`, { status });
  }
}

/** Druid errors come as {error, errorMessage} or {error: "msg"} or plain text; keep the human part. */
function druidMessage(text: string): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    for (const key of ['errorMessage', 'message', 'error']) {
      const v = body[key];
      if (typeof v === 'string' && v.length > 0) return v.slice(0, 2000);
    }
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 2000) || '(empty body)';
}

function describeError(e: unknown): string {
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object') {
    const o = e as Record<string, unknown>;
    const msg = o.exceptionMessage ?? o.message ?? o.errorMessage;
    if (typeof msg === 'string') return `${typeof o.timestamp === 'string' ? `${o.timestamp} ` : ''}${msg}`;
  }
  return JSON.stringify(e);
}
