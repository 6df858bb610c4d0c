// Loads a kudu source's table for a lookup step: one scan of the projected columns of the rows
// matching `equals` and `predicates` (values as the kudu source emits them), on a client opened for the load and
// closed after it. The lookup table (connectors/lookup-table.ts) indexes the rows by the
// step's column and calls this again every `refresh`.
import { parseDuration } from '../../graph/duration.ts';
import type { KuduSourceSpec } from '../../graph/spec.ts';
import { clientTls } from './kudu-tls-config.ts';
import { loadKuduClient } from './client/load-client.ts';
import { masterList, recordOf } from './kudu-source.ts';
import { scanPredicatesOf } from './kudu-spec-values.ts';

export function kuduTableLoader(name: string, spec: KuduSourceSpec): () => Promise<Record<string, unknown>[]> {
  return async () => {
    const timeoutMs = parseDuration(spec.timeout) ?? 300_000;
    const client = new (await loadKuduClient())({
      masters: masterList(spec.masters),
      operationTimeoutMs: timeoutMs,
      ...clientTls(spec.tls),
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
