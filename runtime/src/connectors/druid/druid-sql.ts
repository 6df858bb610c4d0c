// Druid SQL over HTTP: POST <url>/druid/v2/sql {query, resultFormat: "object"} → an array
// of row objects. Used by the druid source (a bounded stream) and by lookup tables.
// Failures carry the source's name and Druid's own message (errorMessage / error), so a bad
// query reads "source "countries": Druid SQL failed (HTTP 400): Column 'x' not found in any
// table (line [1], column [8])".
import { TributaryError } from '../../errors.ts';

export interface DruidSqlOptions {
  url: string;
  query: string;
  timeoutMs: number;
  /** Who runs it, for messages: e.g. `source "countries"`. */
  who: string;
}

// Errors of Druid being unavailable (unreachable, timed out, a 5xx or 429 of the router or
// broker), as opposed to Druid refusing the query (4xx) or answering nonsense: the former is
// worth retrying (lookup tables ride it out, lookup-outage.ts), the latter is not.
const unavailable = new WeakSet<object>();

export function isDruidUnavailable(e: unknown): boolean {
  return typeof e === 'object' && e !== null && unavailable.has(e);
}

function markUnavailable(e: TributaryError): TributaryError {
  unavailable.add(e);
  return e;
}

function druidMessage(body: string): string {
  try {
    const j = JSON.parse(body) as Record<string, unknown>;
    const parts = [j['errorMessage'], j['error'], j['errorClass']].filter(
      (x): x is string => typeof x === 'string' && x !== '',
    );
    if (parts.length > 0) return parts[0] === j['errorMessage'] ? String(parts[0]) : parts.join(': ');
  } catch {
    // not JSON: a proxy's or a servlet's page
  }
  return body.slice(0, 500).trim() || '(empty response)';
}

export async function runDruidSql(o: DruidSqlOptions): Promise<Record<string, unknown>[]> {
  const endpoint = `${o.url.replace(/\/+$/, '')}/druid/v2/sql`;
  let status: number;
  let text: string;
  try {
    // Loaded on first use: undici costs ~0.2 s of every slot start (warm compile cache, idle),
    // and only jobs with a Druid source or lookup need it.
    const { request } = await import('undici');
    const res = await request(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: o.query, resultFormat: 'object' }),
      headersTimeout: o.timeoutMs,
      bodyTimeout: o.timeoutMs,
    });
    status = res.statusCode;
    text = await res.body.text();
  } catch (e) {
    throw markUnavailable(
      new TributaryError(
        'TRIB_CONNECTOR_FAILED',
        `${o.who}: Druid at ${o.url} is unreachable: ${(e as Error).message}`,
        {
          cause: e,
        },
      ),
    );
  }
  if (status !== 200) {
    const err = new TributaryError(
      'TRIB_CONNECTOR_FAILED',
      `${o.who}: Druid SQL failed (HTTP ${status}): ${druidMessage(text)}`,
    );
    throw status >= 500 || status === 429 ? markUnavailable(err) : err;
  }
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch (e) {
    throw new TributaryError('TRIB_CONNECTOR_FAILED', `${o.who}: Druid SQL returned no JSON: ${text.slice(0, 200)}`, {
      cause: e,
    });
  }
  if (!Array.isArray(rows))
    throw new TributaryError(
      'TRIB_CONNECTOR_FAILED',
      `${o.who}: Druid SQL returned ${typeof rows}, expected a list of rows`,
    );
  return rows as Record<string, unknown>[];
}
