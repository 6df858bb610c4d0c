import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../errors.ts';
import {
  CONTRACT_VERSION,
  RuntimeEnv,
  type SavepointFolder,
  type SavepointFolderList,
  type SavepointStatus,
  type StatusResponse,
} from './contract.ts';
import { readControlToken, startControlServer, type ControlServer } from './server.ts';

describe('control server', () => {
  let server: ControlServer;
  let base = '';
  const requests: { stop: boolean; requestId?: string }[] = [];
  const byReq = new Map<string, SavepointStatus>();
  const all = new Map<string, SavepointStatus>();
  let ready = false;
  const disposed: string[] = [];
  let folders: SavepointFolder[] | Error = [];

  beforeAll(async () => {
    const status: StatusResponse = {
      contractVersion: CONTRACT_VERSION,
      jobName: 'j',
      deploymentId: 'd',
      slot: 0,
      parallelism: 2,
      state: 'RUNNING',
    };
    server = await startControlServer({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      token: 's3cret',
      source: { status: () => status, ready: () => ready },
      savepoints: {
        request: (r) => {
          requests.push(r);
          const prev = r.requestId ? byReq.get(r.requestId) : undefined;
          if (prev) return prev;
          const st: SavepointStatus = { id: `sp-${requests.length}`, state: 'IN_PROGRESS' };
          all.set(st.id, st);
          if (r.requestId) byReq.set(r.requestId, st);
          return st;
        },
        get: (id) => all.get(id),
        dispose: async (folder) => {
          disposed.push(folder);
        },
        list: async () => {
          if (folders instanceof Error) throw folders;
          return folders;
        },
      },
    });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(() => server.close());

  const post = (body: unknown, token?: string) =>
    fetch(`${base}/v1/savepoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  const get = (path: string, token?: string) =>
    fetch(`${base}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  it('serves health, readiness, metrics and status', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await get('/metrics', 's3cret')).status).toBe(200);
    const st = (await (await get('/v1/status', 's3cret')).json()) as StatusResponse;
    expect(st.parallelism).toBe(2);
    expect((await get('/nope', 's3cret')).status).toBe(404);
  });

  it('answers nothing but the probes without the token, and counts the refusals', async () => {
    for (const path of ['/v1/status', '/metrics', '/v1/savepoints/sp-1', '/nope']) {
      for (const token of [undefined, 'wrong', 's3cret2', 's3cre']) {
        const r = await get(path, token);
        expect(r.status).toBe(401);
        const body = (await r.json()) as { code: string; error: string };
        expect(body.code).toBe('TRIB_CONTROL_UNAUTHORIZED');
        expect(JSON.stringify(body)).not.toContain('RUNNING');
      }
    }
    const metrics = await (await get('/metrics', 's3cret')).text();
    expect(metrics).toMatch(/^tributary_control_unauthorized_total 16$/m);
  });

  it('refuses to start without a token', async () => {
    await expect(
      startControlServer({
        host: '127.0.0.1',
        port: 0,
        registry: new Registry(),
        token: '',
        source: { status: () => ({}) as StatusResponse, ready: () => true },
      }),
    ).rejects.toMatchObject({ code: 'TRIB_CONTROL_CONFIG' });
  });

  it('requires the bearer token on POST /v1/savepoints', async () => {
    expect((await post({ stop: false })).status).toBe(401);
    expect((await post({ stop: false }, 'wrong')).status).toBe(401);
    expect(requests.length).toBe(0);
  });

  it('starts savepoints idempotently by requestId and reports them', async () => {
    const r1 = await post({ stop: true, requestId: 'abc' }, 's3cret');
    expect(r1.status).toBe(202);
    const { id } = (await r1.json()) as { id: string };
    const r2 = (await (await post({ stop: true, requestId: 'abc' }, 's3cret')).json()) as { id: string };
    expect(r2.id).toBe(id);
    const st = (await (await get(`/v1/savepoints/${id}`, 's3cret')).json()) as SavepointStatus;
    expect(st.state).toBe('IN_PROGRESS');
    expect((await get('/v1/savepoints/unknown', 's3cret')).status).toBe(404);
    expect((await post({ stop: 'yes' }, 's3cret')).status).toBe(400);
  });

  it('deletes savepoint folders by name (sp-<n> only) with the bearer token', async () => {
    const del = (name: string, token?: string) =>
      fetch(`${base}/v1/savepoints/${encodeURIComponent(name)}`, {
        method: 'DELETE',
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    expect((await del('sp-7')).status).toBe(401);
    expect((await del('../checkpoints', 's3cret')).status).toBe(400);
    expect((await del('sp-7/..', 's3cret')).status).toBe(400);
    expect((await del('sp-7', 's3cret')).status).toBe(204);
    expect(disposed).toEqual(['sp-7']);
  });

  it('lists savepoint folders with the bearer token; a listing that fails is an error answer, never an empty list', async () => {
    expect((await get('/v1/savepoints')).status).toBe(401);
    folders = [
      { name: 'sp-3', id: 3, complete: true, triggeredAt: '2026-01-01T00:00:00.000Z' },
      { name: 'sp-5', id: 5, complete: false },
    ];
    const ok = await get('/v1/savepoints', 's3cret');
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as SavepointFolderList).savepoints).toEqual(folders);
    folders = new TributaryError('TRIB_STATE_STORAGE', 's3://b/p/savepoints: NoSuchBucket');
    const bad = await get('/v1/savepoints', 's3cret');
    expect(bad.status).toBe(409);
    expect(await bad.json()).toEqual({ error: 's3://b/p/savepoints: NoSuchBucket', code: 'TRIB_STATE_STORAGE' });
  });

  it('reads the token from the file named in the environment', async () => {
    const d = await mkdtemp(join(tmpdir(), 'trib-token-'));
    await writeFile(join(d, 'token'), 'tok\n');
    expect(readControlToken({ [RuntimeEnv.controlTokenFile]: join(d, 'token') })).toBe('tok');
    expect(readControlToken({})).toBeUndefined();
    expect(() => readControlToken({ [RuntimeEnv.controlTokenFile]: join(d, 'missing') })).toThrow(/control token/);
    await rm(d, { recursive: true });
  });
});
