import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDashboardAddress, startDashboardServer, type DashboardServer } from './dashboard-server.ts';
import { DASHBOARD_API_VERSION, DashboardPaths, type DashboardJobDetail, type DashboardJobSummary } from './model.ts';

const summary: DashboardJobSummary = {
  namespace: 'team a',
  name: 'clicks/1',
  phase: 'Running',
  replicas: 2,
  restarts: 0,
  url: DashboardPaths.jobPage('team a', 'clicks/1'),
};
const detail: DashboardJobDetail = {
  apiVersion: DASHBOARD_API_VERSION,
  generatedAt: new Date(0).toISOString(),
  summary,
  graph: { nodes: [{ id: 'in', role: 'source', kind: 'datagen' }], edges: [] },
  series: {
    intervalSeconds: 5,
    capacity: 2,
    t: [],
    inputRate: [],
    outputRate: [],
    lag: {},
    checkpointDurationMs: [],
    checkpointBytes: [],
  },
  checkpoints: [],
  events: [],
  exceptions: [],
  rescales: [],
};

/** A job with a full window of samples: its answer is tens of KB. */
const big: DashboardJobDetail = {
  ...detail,
  series: {
    ...detail.series,
    t: Array.from({ length: 900 }, (_, i) => 1_700_000_000_000 + i * 2000),
    inputRate: Array.from({ length: 900 }, (_, i) => 2000 + Math.sin(i)),
    outputRate: Array.from({ length: 900 }, () => null),
  },
};

let server: DashboardServer;
let failing = false;
beforeAll(async () => {
  server = await startDashboardServer({
    host: '127.0.0.1',
    port: 0,
    source: {
      jobs: () =>
        failing
          ? Promise.reject(new Error('informer not synced'))
          : Promise.resolve({ apiVersion: DASHBOARD_API_VERSION, generatedAt: detail.generatedAt, jobs: [summary] }),
      job: (ns, name) =>
        Promise.resolve(
          ns !== summary.namespace ? undefined : name === summary.name ? detail : name === 'big' ? big : undefined,
        ),
    },
  });
});
afterAll(() => server.close());

function get(
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      { method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard server', () => {
  it('binds the loopback address it was given and answers /healthz', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('ok');
  });

  it('serves the job list and a job by its URI-encoded namespace and name', async () => {
    const list = await get(DashboardPaths.jobs);
    expect(list.status).toBe(200);
    expect(list.headers['content-type']).toMatch(/^application\/json/);
    expect(list.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(list.body.toString()).jobs).toEqual([summary]);
    const one = await get(DashboardPaths.job('team a', 'clicks/1'));
    expect(one.status).toBe(200);
    expect(JSON.parse(one.body.toString())).toEqual(detail);
  });

  it('answers an unknown job and an unknown path with 404 and a stable code', async () => {
    for (const path of [DashboardPaths.job('team a', 'other'), '/api/v1/jobs/%E0%A4%A/x', '/nope']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.body.toString()).code).toBe('TRIB_DASHBOARD_NOT_FOUND');
    }
  });

  it('answers a failing source with 500 and a code, not the cause', async () => {
    failing = true;
    try {
      const res = await get(DashboardPaths.jobs);
      expect(res.status).toBe(500);
      expect(JSON.parse(res.body.toString())).toEqual({
        code: 'TRIB_DASHBOARD_SOURCE',
        message: 'the dashboard source failed to answer',
      });
    } finally {
      failing = false;
    }
  });

  it('is read-only: any method but GET and HEAD is 405', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await get(DashboardPaths.jobs, { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
      expect(JSON.parse(res.body.toString()).code).toBe('TRIB_DASHBOARD_METHOD');
    }
    const head = await get(DashboardPaths.jobs, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it('serves the page for / and every job URL with a CSP that allows nothing external or inline', async () => {
    for (const path of ['/', summary.url]) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self';");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      const html = res.body.toString();
      // every resource the page names is served here, by absolute path
      // every resource the page names is served here, by a URL relative to the page (so a path
      // prefix in front, the API server's service proxy, keeps working)
      const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
      expect(refs.length).toBeGreaterThan(3);
      for (const ref of refs.filter((r) => !r.startsWith('data:'))) {
        expect(ref).toMatch(/^\.\.?\//);
        const url = new URL(ref, `http://h/prefix${path}`);
        expect(url.pathname.startsWith('/prefix/'), ref).toBe(true);
        expect((await get(url.pathname.slice('/prefix'.length))).status, ref).toBe(200);
      }
      // no inline script: every script element names its file
      for (const tag of html.match(/<script[^>]*>/g) ?? []) expect(tag).toMatch(/ src="[./]+assets\//);
      expect(html).not.toMatch(/ on[a-z]+=/);
    }
  });

  it('serves every module of the page, and every module a module imports', async () => {
    const dir = join(import.meta.dirname, 'page');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
      expect((await get(`/assets/${file}`)).status, file).toBe(200);
      for (const m of readFileSync(join(dir, file), 'utf8').matchAll(/from '\.\/([^']+)'/g))
        expect((await get(`/assets/${m[1]}`)).status, `${file} imports ${m[1]}`).toBe(200);
    }
  });

  it('serves assets gzipped when asked, the same bytes once unzipped', async () => {
    const plain = await get('/assets/uPlot.min.js');
    const zipped = await get('/assets/uPlot.min.js', { headers: { 'accept-encoding': 'gzip, br' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.body.length).toBeLessThan(plain.body.length);
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    // API answers too, when large enough to be worth it
    const path = DashboardPaths.job('team a', 'big');
    const json = await get(path, { headers: { 'accept-encoding': 'gzip' } });
    expect(json.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(json.body).toString())).toEqual(big);
    expect(json.body.length * 2).toBeLessThan((await get(path)).body.length);
    const small = await get(DashboardPaths.job('team a', 'clicks/1'), { headers: { 'accept-encoding': 'gzip' } });
    expect(small.headers['content-encoding']).toBeUndefined();
  });
});

describe('parseDashboardAddress', () => {
  it('reads host:port, [v6]:port and a bare port (loopback)', () => {
    expect(parseDashboardAddress('127.0.0.1:8081')).toEqual({ host: '127.0.0.1', port: 8081 });
    expect(parseDashboardAddress('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseDashboardAddress('9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseDashboardAddress(':9000')).toEqual({ host: '127.0.0.1', port: 9000 });
  });

  it('refuses anything else with a stable code', () => {
    for (const bad of ['', 'localhost', 'h:99999', 'h:x'])
      expect(() => parseDashboardAddress(bad), bad).toThrow(expect.objectContaining({ code: 'TRIB_DASHBOARD_CONFIG' }));
  });
});
