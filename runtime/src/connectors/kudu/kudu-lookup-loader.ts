// Loads a kudu source's table for a lookup step: one scan of the projected columns of the rows
// matching `equals` and `predicates` (values as the kudu source emits them), on a client opened for the load and
// closed after it. The lookup table (connectors/lookup-table.ts) indexes the rows by the
// step's column and calls this again every `refresh`. Kudu being unavailable (nothing reachable,
// no answer) is ridden out for the source's `timeout` (kuduTableOutage): a load's master calls
// give up after a third of it (1–10 s), so the table warns and reports the outage well before the
// bound, and retries with backoff until it passes. A load's scan retries its calls (each a third
// of the bound: a hung tablet server) within the bound; those retries are told to the table as
// they happen (after a call timed out, or trouble lasting 1 s: a leader moving stays silent), so
// the outage shows at the first timed-out call and the load failing ends it within the bound.
import { parseDuration } from '../../graph/duration.ts';
import type { KuduSourceSpec } from '../../graph/spec.ts';
import type { ReportOutage } from '../../core/outage.ts';
import type { LookupOutageOptions } from '../lookup-outage.ts';
import { TributaryError } from '../../errors.ts';
import type { LoadTrouble } from '../lookup-table.ts';
import { clientTls } from './kudu-tls-config.ts';
import { isRetriable } from './client/connection.ts';
import { loadKuduClient } from './client/load-client.ts';
import { masterList, recordOf } from './kudu-source.ts';
import { scanPredicatesOf } from './kudu-spec-values.ts';

const DEFAULT_TIMEOUT = '5m';

/** How a kudu lookup table rides out Kudu being unreachable or not answering (lookup-outage.ts). */
export function kuduTableOutage(spec: KuduSourceSpec, report: ReportOutage | undefined): LookupOutageOptions {
  const text = spec.timeout ?? DEFAULT_TIMEOUT;
  return {
    dependency: 'kudu',
    target: `masters ${masterList(spec.masters).join(',')}`,
    // TRIB_KUDU_CONNECT / TRIB_KUDU_TIMEOUT: unavailable. A missing table, a rejected predicate or
    // a refused login fails the load at once, as before.
    isTransient: isRetriable,
    timeoutMs: parseDuration(text) ?? 300_000,
    timeoutText: `timeout ${text}`,
    report,
  };
}

export function kuduTableLoader(name: string, spec: KuduSourceSpec): () => Promise<Record<string, unknown>[]> {
  return async (trouble?: LoadTrouble) => {
    const timeoutMs = parseDuration(spec.timeout) ?? 300_000;
    let troubleSince: number | undefined;
    const onRetry = (_what: string, err: unknown, startedAt: number): void => {
      const now = Date.now();
      const timedOut = err instanceof TributaryError && err.code === 'TRIB_KUDU_TIMEOUT';
      troubleSince ??= timedOut ? Math.min(startedAt, now) : now;
      if (timedOut || now - troubleSince >= 1_000) trouble?.(err, troubleSince);
    };
    const client = new (await loadKuduClient())({
      masters: masterList(spec.masters),
      // One load's opening gives up after a third of the bound: the table's retries (and its
      // warning) span the rest of it.
      operationTimeoutMs: Math.min(10_000, Math.max(1_000, Math.floor(timeoutMs / 3))),
      ...clientTls(spec.tls),
      onRetry,
    });
    try {
      const table = await client.openTable(spec.table);
      const rows: Record<string, unknown>[] = [];
      const scan = client.scan(table, {
        ...(spec.columns ? { columns: spec.columns } : {}),
        ...(spec.equals ? { equals: spec.equals } : {}),
        predicates: scanPredicatesOf(name, table, spec.predicates),
        timeoutMs,
      });
      for await (const batch of scan) for (const r of batch) rows.push(recordOf(r));
      return rows;
    } finally {
      await client.close();
    }
  };
}
