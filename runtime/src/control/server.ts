// The control API of one slot (contract.ts, version 1), plain node:http:
//   every slot   GET /healthz   GET /readyz   GET /metrics   GET /v1/status
//   slot 0       POST /v1/savepoints {stop, requestId?} → 202 {id}
//                GET  /v1/savepoints/{id} → {id, state, path?, error?, checkpointId?}
//                GET  /v1/savepoints → {savepoints: [{name, id, complete, triggeredAt?}]} (the folders)
//                DELETE /v1/savepoints/{folder} → 204 (folder `sp-<n>` under <stateDir>/savepoints)
//                POST/GET /v1/migrations[/{id}] (a live rescale: migration-routes.ts)
// Every path but the probes (/healthz, /readyz: the kubelet has no token, and they reveal one
// bit) needs `Authorization: Bearer <token>`, the job's secret (the operator mounts one per
// job; its path is in TRIBUTARY_CONTROL_TOKEN_FILE), before anything else is looked at, so an
// unauthenticated caller learns no route, status or metric; refusals are counted. Prometheus
// scrapes the token-free metrics port instead (startMetricsServer). Errors are JSON
// {error, code}. Request bodies are capped at 64 KiB.
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { TributaryError, isTributaryError } from '../errors.ts';
import { json, parseJsonObject, readBody, requestIdOf } from './http-io.ts';
import { handleMigrations, MIGRATIONS_PATH } from './migration-routes.ts';
import type { MigrationTracker } from './migration-tracker.ts';
import {
  RuntimeEnv,
  SAVEPOINT_FOLDER_PATTERN,
  type SavepointFolder,
  type SavepointRequest,
  type SavepointStatus,
  type StatusResponse,
} from './contract.ts';

export interface StatusSource {
  status(): StatusResponse;
  /** Ready = running (linked with its peers) or finished. */
  ready(): boolean;
}

/** Slot 0 only: what POST/GET /v1/savepoints act on (JobExecutor.requestSavepoint / coordinator.savepointStatus). */
export interface SavepointControl {
  request(req: SavepointRequest): SavepointStatus;
  get(id: string): SavepointStatus | undefined;
  /**
   * Removes the folder `<stateDir>/savepoints/<folder>` (already validated against SAVEPOINT_FOLDER_PATTERN); absent =
   * fine.
   */
  dispose?(folder: string): Promise<void>;
  /** The savepoint folders under `<stateDir>/savepoints` (GET /v1/savepoints); throws when they cannot be listed. */
  list?(): Promise<SavepointFolder[]>;
}

export interface ControlServerOptions {
  host: string;
  port: number;
  source: StatusSource;
  registry: Registry;
  savepoints?: SavepointControl;
  /**
   * Slot 0: POST/GET /v1/migrations (migration-routes.ts) — the tracker of a job that can rescale live, or why this
   * one cannot (answered 409 TRIB_RESCALE_UNSUPPORTED). Absent on other slots (404).
   */
  migrations?: MigrationTracker | { unsupported: string };
  /** The bearer token every call but /healthz and /readyz must present (the job's secret). */
  token: string;
  logger?: Logger;
}

export interface ControlServer {
  port: number;
  close(): Promise<void>;
}

/** Reads the token file named by TRIBUTARY_CONTROL_TOKEN_FILE (trimmed); undefined when the variable is unset. */
export function readControlToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = env[RuntimeEnv.controlTokenFile];
  return file ? readTokenFile(file) : undefined;
}

/** Reads a token file (trimmed); TRIB_CONTROL_CONFIG when it is unreadable or empty. */
export function readTokenFile(file: string): string {
  const unreadable = (why: string, cause?: unknown): TributaryError =>
    new TributaryError(
      'TRIB_CONTROL_CONFIG',
      `${RuntimeEnv.controlTokenFile}=${file}: cannot read the control token: ${why}`,
      { cause },
    );
  let t: string;
  try {
    t = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw unreadable((e as Error).message, e);
  }
  if (t === '') throw unreadable('the file is empty');
  return t;
}

function authorized(req: IncomingMessage, token: string): boolean {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(h);
  if (!m) return false;
  const a = Buffer.from((m[1] as string).trim());
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function parseSavepointRequest(text: string): SavepointRequest {
  const o = parseJsonObject(text, '{"stop": bool, "requestId"?: string}');
  if (o['stop'] !== undefined && typeof o['stop'] !== 'boolean')
    throw new TributaryError('TRIB_CONTROL_BAD_REQUEST', '"stop" must be a boolean');
  return { stop: o['stop'] === true, ...requestIdOf(o) };
}

export async function startControlServer(o: ControlServerOptions): Promise<ControlServer> {
  if (!o.token)
    throw new TributaryError('TRIB_CONTROL_CONFIG', 'the control API needs a token: it serves nothing unauthenticated');
  const unauthorized = new Counter({
    name: 'tributary_control_unauthorized_total',
    help: 'Control API calls refused for a missing or wrong bearer token',
    registers: [o.registry],
  });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] as string;
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/healthz') return json(res, 200, { ok: true });
    if (method === 'GET' && path === '/readyz')
      return o.source.ready() ? json(res, 200, { ready: true }) : json(res, 503, { ready: false });
    if (!authorized(req, o.token)) {
      unauthorized.inc();
      res.setHeader('www-authenticate', 'Bearer');
      return json(res, 401, { error: 'missing or wrong bearer token', code: 'TRIB_CONTROL_UNAUTHORIZED' });
    }
    if (method === 'GET' && path === '/metrics') {
      const text = await o.registry.metrics();
      res.writeHead(200, { 'content-type': o.registry.contentType });
      res.end(text);
      return;
    }
    if (method === 'GET' && path === '/v1/status') return json(res, 200, o.source.status());
    if (path === MIGRATIONS_PATH || path.startsWith(`${MIGRATIONS_PATH}/`))
      return handleMigrations(req, res, path, o.migrations, o.logger);
    if (path === '/v1/savepoints' || path.startsWith('/v1/savepoints/')) {
      if (!o.savepoints)
        return json(res, 404, { error: 'savepoints are served by slot 0', code: 'TRIB_CONTROL_NOT_SLOT0' });
      if (method === 'POST' && path === '/v1/savepoints') {
        let sreq: SavepointRequest;
        try {
          sreq = parseSavepointRequest(await readBody(req));
        } catch (e) {
          return json(res, 400, { error: (e as Error).message, code: 'TRIB_CONTROL_BAD_REQUEST' });
        }
        const st = o.savepoints.request(sreq);
        o.logger?.info({ id: st.id, stop: sreq.stop, requestId: sreq.requestId }, 'savepoint requested');
        return json(res, 202, { id: st.id });
      }
      if (method === 'GET' && path === '/v1/savepoints') {
        if (!o.savepoints.list)
          return json(res, 405, { error: 'this slot cannot list savepoints', code: 'TRIB_CONTROL_METHOD' });
        return json(res, 200, { savepoints: await o.savepoints.list() });
      }
      if (method === 'GET' && path.startsWith('/v1/savepoints/')) {
        const id = decodeURIComponent(path.slice('/v1/savepoints/'.length));
        const st = o.savepoints.get(id);
        return st
          ? json(res, 200, st)
          : json(res, 404, { error: `no savepoint ${id}`, code: 'TRIB_CONTROL_NOT_FOUND' });
      }
      if (method === 'DELETE' && path.startsWith('/v1/savepoints/')) {
        const folder = decodeURIComponent(path.slice('/v1/savepoints/'.length));
        if (!SAVEPOINT_FOLDER_PATTERN.test(folder))
          return json(res, 400, {
            error: `"${folder}" is not a savepoint folder name (sp-<n>)`,
            code: 'TRIB_CONTROL_BAD_REQUEST',
          });
        if (!o.savepoints.dispose)
          return json(res, 405, { error: 'this slot cannot delete savepoints', code: 'TRIB_CONTROL_METHOD' });
        await o.savepoints.dispose(folder);
        o.logger?.info({ folder }, 'savepoint folder deleted');
        res.writeHead(204);
        res.end();
        return;
      }
      return json(res, 405, { error: `${method} not allowed on ${path}`, code: 'TRIB_CONTROL_METHOD' });
    }
    return json(res, 404, { error: `no route ${method} ${path}`, code: 'TRIB_CONTROL_NOT_FOUND' });
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      o.logger?.warn({ err: (e as Error).message, url: req.url }, 'control request failed');
      if (!res.headersSent)
        json(res, isTributaryError(e) ? 409 : 500, {
          error: (e as Error).message,
          code: isTributaryError(e) ? e.code : 'TRIB_CONTROL_INTERNAL',
        });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
