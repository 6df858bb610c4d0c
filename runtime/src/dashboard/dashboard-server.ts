// The dashboard's HTTP server: the page (static files shipped beside this file in page/, and
// uPlot from node_modules) and the JSON API of model.ts over a DashboardSource. The operator
// serves it over its informer cache, `tributary run --ui` over the local run.
//
// Invariants: read-only (GET and HEAD; anything else 405); it binds only the address it is
// given; nothing it serves loads from elsewhere (the CSP allows 'self' only, no inline script);
// the static files are read once at start and held in memory, gzipped when the client accepts it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Logger } from 'pino';
import { TributaryError, isTributaryError, type ErrorCode } from '../errors.ts';
import type { DashboardJobDetail, DashboardJobs } from './model.ts';

export interface DashboardSource {
  jobs(): Promise<DashboardJobs>;
  job(namespace: string, name: string): Promise<DashboardJobDetail | undefined>;
}

interface Asset {
  readonly type: string;
  readonly body: Buffer;
  readonly gzip: Buffer;
}

const PAGE_DIR = join(import.meta.dirname, 'page');

/** Files of the page by URL path; the page's HTML is served for `/` and every `/jobs/<ns>/<name>`. */
const PAGE_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/assets/app.js': { file: join(PAGE_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/dag-layout.js': { file: join(PAGE_DIR, 'dag-layout.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/format.js': { file: join(PAGE_DIR, 'format.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/job-view.js': { file: join(PAGE_DIR, 'job-view.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/keyed-state.js': { file: join(PAGE_DIR, 'keyed-state.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/style.css': { file: join(PAGE_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  '/assets/uPlot.min.js': { file: 'uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  '/assets/uPlot.min.css': { file: 'uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
};

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
} as const;

interface Assets {
  /** The page's HTML for `/` and for `/jobs/<ns>/<name>`: its URLs relative to where it is served. */
  readonly index: Asset;
  readonly jobIndex: Asset;
  readonly files: Map<string, Asset>;
}

function loadAssets(): Assets {
  const require = createRequire(import.meta.url);
  const load = (file: string, type: string): Asset => {
    const path = file.startsWith('/') ? file : require.resolve(file);
    let body: Buffer;
    try {
      body = readFileSync(path);
    } catch (e) {
      throw new TributaryError('TRIB_DASHBOARD_CONFIG', `dashboard asset ${path} is missing from the package`, {
        cause: e,
      });
    }
    return { type, body, gzip: gzipSync(body) };
  };
  const files = new Map<string, Asset>();
  for (const [url, { file, type }] of Object.entries(PAGE_FILES)) files.set(url, load(file, type));
  // Relative URLs keep the page working under a path prefix (the API server's service proxy).
  const html = load(join(PAGE_DIR, 'index.html'), 'text/html; charset=utf-8').body.toString('utf8');
  const page = (base: string): Asset => {
    const body = Buffer.from(html.replaceAll('{{base}}', base));
    return { type: 'text/html; charset=utf-8', body, gzip: gzipSync(body) };
  };
  return { index: page('./'), jobIndex: page('../../'), files };
}

/** A node:http request handler serving the page and the API over `source`. */
export function createDashboardHandler(
  source: DashboardSource,
  logger?: Logger,
): (req: IncomingMessage, res: ServerResponse) => void {
  const assets = loadAssets();
  return (req, res) => {
    handle(source, assets, req, res).catch((e: unknown) => {
      logger?.warn({ err: e, url: req.url }, 'dashboard request failed');
      const code: ErrorCode = isTributaryError(e) ? e.code : 'TRIB_DASHBOARD_SOURCE';
      if (!res.headersSent) sendJson(req, res, 500, { code, message: 'the dashboard source failed to answer' });
      else res.destroy();
    });
  };
}

async function handle(
  source: DashboardSource,
  assets: Assets,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    sendJson(req, res, 405, { code: 'TRIB_DASHBOARD_METHOD', message: `the dashboard is read-only: ${req.method}` });
    return;
  }
  const path = new URL(req.url ?? '/', 'http://dashboard').pathname;
  if (path === '/healthz') {
    send(req, res, 200, 'text/plain; charset=utf-8', Buffer.from('ok'));
    return;
  }
  if (path === '/') {
    sendAsset(req, res, assets.index);
    return;
  }
  if (/^\/jobs\/[^/]+\/[^/]+$/.test(path)) {
    sendAsset(req, res, assets.jobIndex);
    return;
  }
  const asset = assets.files.get(path);
  if (asset !== undefined) {
    sendAsset(req, res, asset);
    return;
  }
  if (path === '/api/v1/jobs') {
    sendJson(req, res, 200, await source.jobs());
    return;
  }
  const job = /^\/api\/v1\/jobs\/([^/]+)\/([^/]+)$/.exec(path);
  if (job !== null) {
    const namespace = decode(job[1]);
    const name = decode(job[2]);
    const detail = namespace === undefined || name === undefined ? undefined : await source.job(namespace, name);
    if (detail === undefined) {
      sendJson(req, res, 404, {
        code: 'TRIB_DASHBOARD_NOT_FOUND',
        message: `no job ${namespace ?? job[1]}/${name ?? job[2]}`,
      });
      return;
    }
    sendJson(req, res, 200, detail);
    return;
  }
  sendJson(req, res, 404, { code: 'TRIB_DASHBOARD_NOT_FOUND', message: `no such path: ${path}` });
}

function decode(segment: string | undefined): string | undefined {
  try {
    return segment === undefined ? undefined : decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function sendAsset(req: IncomingMessage, res: ServerResponse, asset: Asset): void {
  const gzip = acceptsGzip(req);
  res.setHeader('vary', 'accept-encoding');
  res.setHeader('cache-control', 'no-cache');
  if (gzip) res.setHeader('content-encoding', 'gzip');
  send(req, res, 200, asset.type, gzip ? asset.gzip : asset.body);
}

/** Answers above this many bytes go gzipped to a client that accepts it (a job's series: tens of KB per poll). */
const GZIP_JSON_ABOVE = 1024;

function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  res.setHeader('cache-control', 'no-store');
  let bytes = Buffer.from(JSON.stringify(body));
  if (bytes.length > GZIP_JSON_ABOVE && acceptsGzip(req)) {
    bytes = gzipSync(bytes, { level: 1 });
    res.setHeader('content-encoding', 'gzip');
  }
  res.setHeader('vary', 'accept-encoding');
  send(req, res, status, 'application/json; charset=utf-8', bytes);
}

function acceptsGzip(req: IncomingMessage): boolean {
  return /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
}

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: Buffer): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export interface DashboardServer {
  /** `http://host:port` as bound (the port resolved when 0 was asked). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Parses `host:port` (`[::1]:8081` for IPv6); a bare port binds 127.0.0.1. */
export function parseDashboardAddress(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr) ?? /^()()(\d{1,5})$/.exec(addr);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || !(port >= 0 && port <= 65535))
    throw new TributaryError('TRIB_DASHBOARD_CONFIG', `dashboard address must be host:port: ${JSON.stringify(addr)}`);
  const host = m[1] ?? m[2];
  return { host: host === '' || host === undefined ? '127.0.0.1' : host, port };
}

export async function startDashboardServer(options: {
  readonly source: DashboardSource;
  readonly host: string;
  readonly port: number;
  readonly logger?: Logger;
}): Promise<DashboardServer> {
  const server: Server = createServer(createDashboardHandler(options.source, options.logger));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(
        new TributaryError('TRIB_DASHBOARD_CONFIG', `dashboard cannot listen on ${options.host}:${options.port}`, {
          cause: e,
        }),
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
