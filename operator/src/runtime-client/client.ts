// Client for the runtime's control API (runtime/src/control/contract.ts): one slot's
// `http://<podIP>:9250`. Bearer token on every call; short timeouts (a slot that does not
// answer quickly is reported as unreachable, never waited on by a reconcile); bodies read with
// a size limit (a slot pod runs tenant-chosen code and image: it must not exhaust the operator).
import { Agent, request, type Dispatcher } from 'undici';
import type {
  MigrationRequest,
  MigrationStatus,
  SavepointAccepted,
  SavepointFolder,
  SavepointFolderList,
  SavepointRequest,
  SavepointStatus,
  StatusResponse,
} from '../../../runtime/src/control/contract.ts';
import { CONTROL_PORT } from '../../../runtime/src/control/contract.ts';
import { formatBytes, readBoundedBody } from '../http/bounded-body.ts';

export const RuntimeErrorCodes = {
  /** No HTTP answer: refused, reset, timeout. Retriable. */
  unreachable: 'RUNTIME_ERR_UNREACHABLE',
  /** 401/403: the token does not match. */
  unauthorized: 'RUNTIME_ERR_UNAUTHORIZED',
  /** 404 on a savepoint id (e.g. the slot restarted and forgot it). */
  notFound: 'RUNTIME_ERR_NOT_FOUND',
  /** Any other non-2xx answer. */
  rejected: 'RUNTIME_ERR_REJECTED',
  /** A 2xx answer whose body is not what the contract says. */
  protocol: 'RUNTIME_ERR_PROTOCOL',
  /** A body larger than the client's limit (maxResponseBytes). */
  tooLarge: 'RUNTIME_ERR_RESPONSE_TOO_LARGE',
} as const;
export type RuntimeErrorCode = (typeof RuntimeErrorCodes)[keyof typeof RuntimeErrorCodes];

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;
  readonly statusCode: number | undefined;
  /** The runtime's own TRIB_* code of a non-2xx answer (its body's `code`), when it gave one. */
  readonly runtimeCode: string | undefined;
  constructor(
    code: RuntimeErrorCode,
    message: string,
    opts: { statusCode?: number; cause?: unknown; runtimeCode?: string } = {},
  ) {
    super(`[${code}] ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RuntimeError';
    this.code = code;
    this.statusCode = opts.statusCode;
    this.runtimeCode = opts.runtimeCode;
  }
  get retriable(): boolean {
    return this.code === RuntimeErrorCodes.unreachable || (this.statusCode !== undefined && this.statusCode >= 500);
  }
}

export interface RuntimeClientOptions {
  /** Per-call timeout (headers and body). Default 3 s. */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
  /** Largest response body read. Default 1 MiB: a status with a few thousand slots fits. */
  maxResponseBytes?: number;
}

/** Shared by all jobs: one keep-alive agent, short idle timeouts (pods come and go). */
export class RuntimeClient {
  readonly #dispatcher: Dispatcher;
  readonly #timeoutMs: number;
  readonly #owned: boolean;
  readonly #maxResponseBytes: number;

  constructor(opts: RuntimeClientOptions = {}) {
    this.#timeoutMs = opts.timeoutMs ?? 3_000;
    this.#owned = opts.dispatcher === undefined;
    this.#maxResponseBytes = opts.maxResponseBytes ?? 1024 * 1024;
    this.#dispatcher =
      opts.dispatcher ?? new Agent({ keepAliveTimeout: 4_000, connections: 4, connectTimeout: this.#timeoutMs });
  }

  static baseUrl(podIp: string, port = CONTROL_PORT): string {
    return `http://${podIp.includes(':') ? `[${podIp}]` : podIp}:${port}`;
  }

  status(base: string, token: string): Promise<StatusResponse> {
    return this.#call<StatusResponse>('GET', `${base}/v1/status`, token);
  }

  triggerSavepoint(base: string, token: string, req: SavepointRequest): Promise<SavepointAccepted> {
    return this.#call<SavepointAccepted>('POST', `${base}/v1/savepoints`, token, req);
  }

  savepoint(base: string, token: string, id: string): Promise<SavepointStatus> {
    return this.#call<SavepointStatus>('GET', `${base}/v1/savepoints/${encodeURIComponent(id)}`, token);
  }

  /** DELETE /v1/savepoints/{folder}: slot 0 removes `<stateDir>/savepoints/<folder>` (sp-<n>). */
  async deleteSavepoint(base: string, token: string, folder: string): Promise<void> {
    await this.#call<unknown>('DELETE', `${base}/v1/savepoints/${encodeURIComponent(folder)}`, token);
  }

  /** GET /v1/savepoints: slot 0's savepoint folders (an older runtime answers 405: RUNTIME_ERR_REJECTED). */
  async listSavepoints(base: string, token: string): Promise<SavepointFolder[]> {
    const body = await this.#call<SavepointFolderList>('GET', `${base}/v1/savepoints`, token);
    const list = (body as Partial<SavepointFolderList> | null)?.savepoints;
    if (
      !Array.isArray(list) ||
      !list.every((f) => typeof f?.name === 'string' && Number.isSafeInteger(f.id) && typeof f.complete === 'boolean')
    )
      throw new RuntimeError(RuntimeErrorCodes.protocol, `GET ${base}/v1/savepoints: not a savepoint folder list`);
    return list;
  }

  /**
   * POST /v1/migrations on slot 0: a live rescale to `req.to` (a repeated requestId returns the same migration).
   * 404 (an older runtime) and 409 (refused before anything moved; runtimeCode TRIB_RESCALE_UNSUPPORTED or
   * TRIB_RESCALE_PLAN_INVALID) are RuntimeErrors.
   */
  async requestMigration(base: string, token: string, req: MigrationRequest): Promise<{ id: string }> {
    const body = await this.#call<{ id?: unknown } | null>('POST', `${base}/v1/migrations`, token, req);
    if (typeof body?.id !== 'string' || body.id === '')
      throw new RuntimeError(RuntimeErrorCodes.protocol, `POST ${base}/v1/migrations: no migration id`);
    return { id: body.id };
  }

  /** GET /v1/migrations/{id} on slot 0; an answer that is not a MigrationStatus is RUNTIME_ERR_PROTOCOL. */
  async migration(base: string, token: string, id: string): Promise<MigrationStatus> {
    const url = `${base}/v1/migrations/${encodeURIComponent(id)}`;
    const m = await this.#call<Partial<MigrationStatus> | null>('GET', url, token);
    const counts = [m?.from, m?.to, m?.stepsDone, m?.steps, m?.keyGroupsMoved, m?.bytesMoved];
    const states = ['IN_PROGRESS', 'COMPLETED', 'FAILED'];
    const a = m?.awaiting;
    const awaitingOk =
      a === undefined ||
      (a !== null &&
        Number.isSafeInteger(a.slot) &&
        a.slot >= 0 &&
        Number.isSafeInteger(a.generation) &&
        Number.isSafeInteger(a.parallelism) &&
        a.parallelism > a.slot);
    if (
      !m ||
      m.id !== id ||
      !states.includes(m.state as string) ||
      !counts.every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0) ||
      !awaitingOk
    )
      throw new RuntimeError(RuntimeErrorCodes.protocol, `GET ${url}: not a migration status`);
    return m as MigrationStatus;
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#dispatcher.close();
  }

  async #call<T>(method: 'GET' | 'POST' | 'DELETE', url: string, token: string, body?: unknown): Promise<T> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method,
        dispatcher: this.#dispatcher,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw new RuntimeError(RuntimeErrorCodes.unreachable, `${method} ${url}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    let text: string;
    const code = res.statusCode;
    try {
      const read = await readBoundedBody(res.body, this.#maxResponseBytes);
      if (!read.ok)
        throw new RuntimeError(
          RuntimeErrorCodes.tooLarge,
          `${method} ${url}: ${code}: response body larger than ${formatBytes(read.limit)} (the limit); not read`,
          { statusCode: code },
        );
      text = read.text;
    } catch (err) {
      if (err instanceof RuntimeError) throw err;
      throw new RuntimeError(RuntimeErrorCodes.unreachable, `${method} ${url}: body: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (code === 401 || code === 403)
      throw new RuntimeError(RuntimeErrorCodes.unauthorized, `${method} ${url}: ${code}`, { statusCode: code });
    const runtimeCode = code < 200 || code >= 300 ? codeOf(text) : undefined;
    if (code === 404)
      throw new RuntimeError(RuntimeErrorCodes.notFound, `${method} ${url}: 404 ${text.slice(0, 200)}`, {
        statusCode: code,
        ...(runtimeCode ? { runtimeCode } : {}),
      });
    if (code < 200 || code >= 300)
      throw new RuntimeError(RuntimeErrorCodes.rejected, `${method} ${url}: ${code} ${text.slice(0, 500)}`, {
        statusCode: code,
        ...(runtimeCode ? { runtimeCode } : {}),
      });
    if (code === 204) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new RuntimeError(RuntimeErrorCodes.protocol, `${method} ${url}: not JSON: ${text.slice(0, 200)}`, {
        statusCode: code,
        cause: err,
      });
    }
  }
}

/** The `code` of an error body `{error, code}` (the runtime's TRIB_* code), if it is one. */
function codeOf(text: string): string | undefined {
  try {
    const code = (JSON.parse(text) as { code?: unknown } | null)?.code;
    return typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}
