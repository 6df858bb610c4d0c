// Slot 0's live-rescale routes of the control API (contract.ts; core/migration.ts):
//   POST /v1/migrations {to, requestId?} → 202 {id} once the job accepted it; 409 {error, code} when it
//                                          refused (nothing moved), 400 for a malformed body
//   GET  /v1/migrations/{id}             → MigrationStatus
//   GET  /v1/migrations                  → {migrations: MigrationStatus[]} (newest first, at most 10)
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { MigrationRequest } from '../core/migration.ts';
import { isTributaryError, TributaryError } from '../errors.ts';
import { json, parseJsonObject, readBody, requestIdOf } from './http-io.ts';
import type { MigrationTracker } from './migration-tracker.ts';

export const MIGRATIONS_PATH = '/v1/migrations';

export function parseMigrationRequest(text: string): MigrationRequest {
  const o = parseJsonObject(text, '{"to": integer, "requestId"?: string}');
  const to = o['to'];
  if (typeof to !== 'number' || !Number.isInteger(to) || to < 1)
    throw new TributaryError('TRIB_CONTROL_BAD_REQUEST', '"to" must be an integer ≥ 1 (the new parallelism)');
  return { to, ...requestIdOf(o) };
}

export async function handleMigrations(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  migrations: MigrationTracker | { unsupported: string } | undefined,
  logger: Logger | undefined,
): Promise<void> {
  const method = req.method ?? 'GET';
  if (!migrations) return json(res, 404, { error: 'migrations are served by slot 0', code: 'TRIB_CONTROL_NOT_SLOT0' });
  if ('unsupported' in migrations)
    return json(res, 409, { error: migrations.unsupported, code: 'TRIB_RESCALE_UNSUPPORTED' });
  if (method === 'POST' && path === MIGRATIONS_PATH) {
    let mreq: MigrationRequest;
    try {
      mreq = parseMigrationRequest(await readBody(req));
    } catch (e) {
      return json(res, 400, { error: (e as Error).message, code: 'TRIB_CONTROL_BAD_REQUEST' });
    }
    try {
      const st = await migrations.request(mreq);
      logger?.info({ id: st.id, from: st.from, to: st.to, steps: st.steps, keyGroups: st.keyGroups }, 'live rescale');
      return json(res, 202, { id: st.id });
    } catch (e) {
      logger?.warn({ to: mreq.to, err: (e as Error).message }, 'live rescale refused');
      return json(res, 409, {
        error: (e as Error).message,
        code: isTributaryError(e) ? e.code : 'TRIB_RESCALE_UNSUPPORTED',
      });
    }
  }
  if (method === 'GET' && path === MIGRATIONS_PATH) return json(res, 200, { migrations: migrations.list() });
  if (method === 'GET' && path.startsWith(`${MIGRATIONS_PATH}/`)) {
    const id = decodeURIComponent(path.slice(MIGRATIONS_PATH.length + 1));
    const st = migrations.get(id);
    return st ? json(res, 200, st) : json(res, 404, { error: `no migration ${id}`, code: 'TRIB_CONTROL_NOT_FOUND' });
  }
  return json(res, 405, { error: `${method} not allowed on ${path}`, code: 'TRIB_CONTROL_METHOD' });
}
