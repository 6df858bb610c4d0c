// Reads an HTTP response body with a size limit: every response the operator reads comes from
// an endpoint a tenant can point it at or run (a Druid URL, a slot pod), so a hostile or broken
// one must not be able to make the operator buffer more than the limit. The body is read as it
// streams and dropped (the connection destroyed) as soon as it passes the limit, whatever the
// Content-Length header claims.
import type { Dispatcher } from 'undici';

export type BoundedBody = { ok: true; text: string } | { ok: false; limit: number; seen: number };

/** The body as UTF-8 text, or `ok: false` once more than `limit` bytes arrived (nothing more is read). */
export async function readBoundedBody(body: Dispatcher.ResponseData['body'], limit: number): Promise<BoundedBody> {
  const chunks: Buffer[] = [];
  let seen = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    seen += chunk.length;
    if (seen > limit) {
      body.destroy();
      return { ok: false, limit, seen };
    }
    chunks.push(chunk);
  }
  return { ok: true, text: Buffer.concat(chunks).toString('utf8') };
}

/** Human size for error messages (the limits are whole KiB or MiB). */
export function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${n / (1024 * 1024)} MiB` : `${n / 1024} KiB`;
}
