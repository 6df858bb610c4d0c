// An HTTPS server for validating admission webhooks: one path per handler, AdmissionReview v1
// in and out (admission-review.ts). Generic: handlers bring the knowledge of their kinds.
// Invariants:
// - A handler sees only a well-formed review of one of its kinds. Anything else is answered
//   without it: 404 (path), 405 (method), 415 (content type), 413 (body over the limit),
//   400 (not an AdmissionReview v1), or a refusal naming the kinds it validates.
// - A handler that throws gets 500, one that misses the deadline 504: the API server then
//   applies the webhook's failurePolicy. The deadline is ours or, when shorter, the one the
//   API server sends (`?timeout=10s`) less a margin, so our answer arrives before it gives up.
// - The certificate files are re-read periodically (cert-manager rotates them in place);
//   a read that fails keeps the previous certificate.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Counter, type Registry } from 'prom-client';
import { silentLogger, type Logger } from '../telemetry/logger.ts';
import {
  admissionResponse,
  parseAdmissionReview,
  type AdmissionRequest,
  type AdmissionVerdict,
} from './admission-review.ts';
import { ErrorCodes, OperatorError } from './errors.ts';

export interface AdmissionHandler {
  /** URL path, e.g. `/validate-widget`. */
  readonly path: string;
  /** The kinds it validates; a review of another kind is refused as a misconfigured webhook. */
  readonly kinds: readonly { group: string; kind: string }[];
  validate(req: AdmissionRequest, signal: AbortSignal): AdmissionVerdict | Promise<AdmissionVerdict>;
}

export type ServingCertificate =
  { cert: string | Buffer; key: string | Buffer } | { certFile: string; keyFile: string };

export interface AdmissionServerOptions {
  handlers: readonly AdmissionHandler[];
  tls: ServingCertificate;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Largest accepted body; an UPDATE review carries the object twice. Default 8 MiB. */
  maxBodyBytes?: number;
  /** Longest a handler may take. Default 8 s. */
  timeoutMs?: number;
  /** How often certificate files are re-read. Default 60 s. */
  certReloadMs?: number;
  logger?: Logger;
  /** Counts reviews as tributary_operator_admission_reviews_total{path, result}. */
  registry?: Registry;
}

export interface AdmissionServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const deadlineMarginMs = 500;

export async function startAdmissionServer(opts: AdmissionServerOptions): Promise<AdmissionServer> {
  const logger = opts.logger ?? silentLogger();
  const maxBody = opts.maxBodyBytes ?? 8 << 20;
  const timeoutMs = opts.timeoutMs ?? 8_000;
  const handlers = new Map(opts.handlers.map((h) => [h.path, h]));
  const reviews = opts.registry ? reviewCounter(opts.registry) : undefined;
  let material = loadCertificate(opts.tls);
  const server: Server = createServer({ ...material, minVersion: 'TLSv1.2' }, (req, res) => {
    void serve(req, res).catch((err: unknown) => {
      logger.error({ err }, 'admission: answering failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  // Bounds a slow client (headers and body); the handler's own deadline is separate.
  server.requestTimeout = timeoutMs + 10_000;
  server.headersTimeout = Math.min(server.requestTimeout, 10_000);

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://webhook');
    const handler = handlers.get(url.pathname);
    const text = (status: number, body: string, headers: Record<string, string> = {}) => {
      reviews?.inc({ path: url.pathname, result: 'error' });
      res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(body);
    };
    if (!handler) return text(404, `no webhook at ${url.pathname}`);
    if (req.method !== 'POST') return text(405, 'POST an AdmissionReview', { allow: 'POST' });
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? ''))
      return text(415, 'expected content-type application/json');
    const body = await readBody(req, maxBody);
    if (body === undefined) return text(413, `the body exceeds ${maxBody} bytes`, { connection: 'close' });
    let review: AdmissionRequest;
    try {
      review = parseAdmissionReview(body);
    } catch (err) {
      return text(400, (err as Error).message);
    }
    const known = handler.kinds.some((k) => k.group === review.kind.group && k.kind === review.kind.kind);
    const verdict = known ? await decide(handler, review, deadlineOf(url, timeoutMs)) : refuseKind(handler, review);
    if ('failed' in verdict) return text(verdict.status, verdict.failed);
    reviews?.inc({ path: url.pathname, result: verdict.allowed ? 'allowed' : 'denied' });
    if (!verdict.allowed)
      logger.debug(
        { path: url.pathname, namespace: review.namespace, name: review.name, message: verdict.message },
        'admission: denied',
      );
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(admissionResponse(review.uid, verdict)));
  }

  async function decide(
    handler: AdmissionHandler,
    review: AdmissionRequest,
    deadlineMs: number,
  ): Promise<AdmissionVerdict | { failed: string; status: number }> {
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<{ failed: string; status: number }>((resolve) => {
      timer = setTimeout(() => {
        const err = new OperatorError(
          ErrorCodes.ADMISSION_TIMEOUT,
          `validation did not finish within ${deadlineMs} ms`,
        );
        abort.abort(err);
        resolve({ failed: err.message, status: 504 });
      }, deadlineMs);
    });
    try {
      return await Promise.race([Promise.resolve().then(() => handler.validate(review, abort.signal)), expired]);
    } catch (err) {
      logger.error(
        { err, path: handler.path, namespace: review.namespace, name: review.name },
        'admission: validator failed',
      );
      return { failed: `validation failed: ${(err as Error).message}`, status: 500 };
    } finally {
      clearTimeout(timer);
    }
  }

  const reload = setInterval(() => {
    if (!('certFile' in opts.tls)) return;
    try {
      const next = loadCertificate(opts.tls);
      if (next.cert.equals(material.cert) && next.key.equals(material.key)) return;
      server.setSecureContext({ ...next, minVersion: 'TLSv1.2' });
      material = next;
      logger.info({ certFile: opts.tls.certFile }, 'admission: serving certificate reloaded');
    } catch (err) {
      logger.warn({ err }, 'admission: cannot reload the serving certificate; keeping the current one');
    }
  }, opts.certReloadMs ?? 60_000);
  reload.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `https://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`,
    port: addr.port,
    close: () => {
      clearInterval(reload);
      server.closeIdleConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function refuseKind(handler: AdmissionHandler, review: AdmissionRequest): AdmissionVerdict {
  const kinds = handler.kinds.map((k) => `${k.kind}.${k.group}`).join(', ');
  return {
    allowed: false,
    code: 400,
    message: `${handler.path} validates ${kinds}, not ${review.kind.kind}.${review.kind.group}: the webhook configuration's rules are wrong`,
  };
}

/** Our deadline, or the API server's `timeout` query (`10s`) less a margin when that is shorter. */
function deadlineOf(url: URL, timeoutMs: number): number {
  const m = /^(\d+)s$/.exec(url.searchParams.get('timeout') ?? '');
  return m ? Math.max(100, Math.min(timeoutMs, Number(m[1]) * 1000 - deadlineMarginMs)) : timeoutMs;
}

/**
 * The body as text, or undefined once it exceeds `max` bytes: reading stops there (the 413
 * goes out with `connection: close`, so the rest is never read).
 */
function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > max) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) return void chunks.push(chunk);
      req.off('data', onData).off('end', onEnd).pause();
      resolve(undefined);
    };
    const onEnd = () => resolve(Buffer.concat(chunks).toString('utf8'));
    req.on('data', onData).once('end', onEnd).once('error', reject);
  });
}

function loadCertificate(tls: ServingCertificate): { cert: Buffer; key: Buffer } {
  if (!('certFile' in tls)) return { cert: Buffer.from(tls.cert), key: Buffer.from(tls.key) };
  try {
    return { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) };
  } catch (err) {
    throw new OperatorError(
      ErrorCodes.WEBHOOK_TLS,
      `cannot read the webhook's serving certificate (${tls.certFile}, ${tls.keyFile}): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function reviewCounter(registry: Registry): Counter<'path' | 'result'> {
  const name = 'tributary_operator_admission_reviews_total';
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<'path' | 'result'>;
  return new Counter({
    name,
    help: 'Admission reviews answered, by webhook path and result (allowed, denied, error).',
    labelNames: ['path', 'result'],
    registers: [registry],
  });
}
