// JSON answers and capped request bodies for the control API's routes (server.ts and the route
// files beside it). A body over the cap is refused before it is buffered further.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TributaryError } from '../errors.ts';

const MAX_BODY = 64 * 1024;

export function json(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new TributaryError('TRIB_CONTROL_BAD_REQUEST', 'request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A request body that must be a JSON object (empty = `{}`); `shape` names the expected fields in the error. */
export function parseJsonObject(text: string, shape: string): Record<string, unknown> {
  let body: unknown;
  try {
    body = text.trim() === '' ? {} : JSON.parse(text);
  } catch (e) {
    throw new TributaryError('TRIB_CONTROL_BAD_REQUEST', 'body is not JSON', { cause: e });
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new TributaryError('TRIB_CONTROL_BAD_REQUEST', `body must be a JSON object ${shape}`);
  return body as Record<string, unknown>;
}

/** An optional idempotency key: a non-empty string of at most 256 characters. */
export function requestIdOf(o: Record<string, unknown>): { requestId?: string } {
  const id = o['requestId'];
  if (id === undefined) return {};
  if (typeof id !== 'string' || id === '' || id.length > 256)
    throw new TributaryError(
      'TRIB_CONTROL_BAD_REQUEST',
      '"requestId" must be a non-empty string of at most 256 characters',
    );
  return { requestId: id };
}
