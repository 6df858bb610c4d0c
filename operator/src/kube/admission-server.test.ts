import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../telemetry/metrics.ts';
import {
  startAdmissionServer,
  type AdmissionHandler,
  type AdmissionServer,
  type AdmissionServerOptions,
} from './admission-server.ts';
import { testCertificates } from './testing/test-certificates.ts';

const [certA, certB] = testCertificates;

interface Reply {
  status: number;
  body: string;
  json: () => {
    response: {
      uid: string;
      allowed: boolean;
      status?: { code: number; message: string; reason: string };
      warnings?: string[];
    };
  };
  fingerprint: string;
}

/** POSTs `body` over a new TLS connection that trusts both test certificates. */
function post(
  url: string,
  body: string | Buffer,
  opts: { method?: string; headers?: Record<string, string>; chunked?: boolean } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = {
      'content-type': 'application/json',
      ...(opts.chunked ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
      ...opts.headers,
    };
    const req = request(
      url,
      { method: opts.method ?? 'POST', headers, ca: [certA.cert, certB.cert], agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const peer = (
            res.socket as unknown as { getPeerX509Certificate?: () => X509Certificate | undefined }
          ).getPeerX509Certificate?.();
          resolve({
            status: res.statusCode ?? 0,
            body: text,
            json: () => JSON.parse(text) as ReturnType<Reply['json']>,
            fingerprint: peer?.fingerprint256 ?? '',
          });
        });
      },
    );
    req.on('error', reject);
    if (opts.chunked) {
      const buf = Buffer.from(body);
      for (let i = 0; i < buf.length; i += 64 << 10) req.write(buf.subarray(i, i + (64 << 10)));
      req.end();
    } else req.end(body);
  });
}

const review = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'u-1',
      kind: { group: 'example.dev', version: 'v1', kind: 'Widget' },
      operation: 'CREATE',
      namespace: 'ns',
      name: 'w',
      object: { spec: { size: 3 } },
      ...over,
    },
  });

const widgets: AdmissionHandler = {
  path: '/validate-widget',
  kinds: [{ group: 'example.dev', kind: 'Widget' }],
  validate: (req) => {
    const size = (req.object as { spec: { size: number } }).spec.size;
    return size > 2
      ? { allowed: true, warnings: ['spec.size: large'] }
      : { allowed: false, message: `spec.size: expected more than 2, got ${size}` };
  },
};

describe('admission server', () => {
  let srv: AdmissionServer | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });
  const start = async (over: Partial<AdmissionServerOptions> = {}) => {
    srv = await startAdmissionServer({ handlers: [widgets], tls: certA, ...over });
    return srv.url;
  };

  it('answers an AdmissionReview v1 with the handler verdict, its uid, message and warnings', async () => {
    const registry = createRegistry();
    const url = await start({ registry });
    const ok = await post(`${url}/validate-widget`, review());
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'u-1', allowed: true, warnings: ['spec.size: large'] },
    });
    const denied = (await post(`${url}/validate-widget`, review({ uid: 'u-2', object: { spec: { size: 1 } } }))).json()
      .response;
    expect(denied).toMatchObject({
      uid: 'u-2',
      allowed: false,
      status: { code: 422, reason: 'Invalid', message: 'spec.size: expected more than 2, got 1' },
    });
    const metrics = await registry.metrics();
    expect(metrics).toContain('tributary_operator_admission_reviews_total{path="/validate-widget",result="allowed"} 1');
    expect(metrics).toContain('tributary_operator_admission_reviews_total{path="/validate-widget",result="denied"} 1');
  });

  it('answers a bad body with 400 and never calls the handler', async () => {
    let calls = 0;
    const url = await start({
      handlers: [{ ...widgets, validate: (r) => (calls++, widgets.validate(r, new AbortController().signal)) }],
    });
    const cases: [string, RegExp][] = [
      ['{not json', /not JSON/],
      ['[]', /AdmissionReview object/],
      [
        JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} }),
        /admission.k8s.io\/v1/,
      ],
      [review({ uid: '' }), /request.uid/],
      [review({ operation: 'PATCH' }), /request.operation/],
      [review({ kind: 'Widget' }), /request.kind/],
    ];
    for (const [body, message] of cases) {
      const r = await post(`${url}/validate-widget`, body);
      expect(r.status, body).toBe(400);
      expect(r.body).toMatch(message);
    }
    expect(calls).toBe(0);
  });

  it('refuses a body over the limit with 413, announced or streamed', async () => {
    const url = await start({ maxBodyBytes: 64 << 10 });
    const big = review({ object: { spec: { size: 3, pad: 'x'.repeat(256 << 10) } } });
    for (const chunked of [false, true]) {
      const r = await post(`${url}/validate-widget`, big, { chunked });
      expect(r.status, `chunked ${chunked}`).toBe(413);
      expect(r.body).toContain('exceeds 65536 bytes');
    }
    expect((await post(`${url}/validate-widget`, review())).status).toBe(200); // the server still serves
  });

  it('refuses a review of a kind the handler does not validate (a misconfigured webhook)', async () => {
    const url = await start();
    const r = (
      await post(`${url}/validate-widget`, review({ kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }))
    ).json().response;
    expect(r).toMatchObject({ uid: 'u-1', allowed: false, status: { code: 400, reason: 'BadRequest' } });
    expect(r.status?.message).toBe(
      "/validate-widget validates Widget.example.dev, not Deployment.apps: the webhook configuration's rules are wrong",
    );
  });

  it('answers unknown paths 404, other methods 405, other content types 415', async () => {
    const url = await start();
    expect((await post(`${url}/validate-gadget`, review())).status).toBe(404);
    expect((await post(`${url}/validate-widget`, '', { method: 'GET' })).status).toBe(405);
    expect((await post(`${url}/validate-widget`, review(), { headers: { 'content-type': 'text/yaml' } })).status).toBe(
      415,
    );
  });

  it('a handler that throws gets 500; one past the deadline 504 with its signal aborted (the API server applies failurePolicy)', async () => {
    let aborted: unknown;
    const slow: AdmissionHandler = {
      ...widgets,
      path: '/slow',
      validate: (_req, signal) =>
        new Promise((resolve) =>
          signal.addEventListener('abort', () => {
            aborted = signal.reason;
            resolve({ allowed: true });
          }),
        ),
    };
    const failing: AdmissionHandler = {
      ...widgets,
      path: '/failing',
      validate: () => {
        throw new Error('boom');
      },
    };
    const url = await start({ handlers: [slow, failing], timeoutMs: 5_000 });
    const t0 = Date.now();
    // The API server's own deadline (`?timeout=1s`) wins over ours when shorter, less a margin.
    const r = await post(`${url}/slow?timeout=1s`, review());
    expect(r.status).toBe(504);
    expect(r.body).toContain('did not finish within 500 ms');
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect((aborted as { code?: string }).code).toBe('OPERATOR_ADMISSION_TIMEOUT');
    const f = await post(`${url}/failing`, review());
    expect(f.status).toBe(500);
    expect(f.body).toContain('boom');
  });

  it('bounds messages and warnings to one line each, and their number', async () => {
    const chatty: AdmissionHandler = {
      ...widgets,
      validate: () => ({
        allowed: false,
        message: `spec: ${'m'.repeat(10_000)}`,
        warnings: Array.from({ length: 14 }, (_, i) => `w${i}\n${'x'.repeat(400)}`),
      }),
    };
    const url = await start({ handlers: [chatty] });
    const r = (await post(`${url}/validate-widget`, review())).json().response;
    expect(r.status?.message.length).toBe(4096);
    expect(r.status?.message.endsWith('…')).toBe(true);
    expect(r.warnings).toHaveLength(10);
    expect(r.warnings?.[0]?.startsWith('w0 xxx')).toBe(true);
    expect(r.warnings?.[0]?.length).toBe(256);
    expect(r.warnings?.[9]).toBe('and 5 more warnings');
  });

  it('reloads rotated certificate files, keeping the old certificate while the new one cannot be read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'admission-cert-'));
    const certFile = join(dir, 'tls.crt');
    const keyFile = join(dir, 'tls.key');
    writeFileSync(certFile, certA.cert);
    writeFileSync(keyFile, certA.key);
    const url = await start({ tls: { certFile, keyFile }, certReloadMs: 50 });
    const fpA = new X509Certificate(certA.cert).fingerprint256;
    const fpB = new X509Certificate(certB.cert).fingerprint256;
    expect((await post(`${url}/validate-widget`, review())).fingerprint).toBe(fpA);
    writeFileSync(certFile, 'garbage');
    await new Promise((r) => setTimeout(r, 150));
    expect((await post(`${url}/validate-widget`, review())).fingerprint).toBe(fpA);
    writeFileSync(certFile, certB.cert);
    writeFileSync(keyFile, certB.key);
    await new Promise((r) => setTimeout(r, 150));
    expect((await post(`${url}/validate-widget`, review())).fingerprint).toBe(fpB);
  });

  it('fails to start with OPERATOR_WEBHOOK_TLS when the certificate files are missing', async () => {
    await expect(
      startAdmissionServer({
        handlers: [widgets],
        tls: { certFile: '/nonexistent/tls.crt', keyFile: '/nonexistent/tls.key' },
      }),
    ).rejects.toMatchObject({ code: 'OPERATOR_WEBHOOK_TLS' });
  });
});
