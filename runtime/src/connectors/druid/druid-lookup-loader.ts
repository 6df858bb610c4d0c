// Loads a druid source's table for a lookup step: its SQL query, run again on every refresh of
// the lookup table (connectors/lookup-table.ts), which indexes the rows by the step's column.
// A failure names the table (`lookup table "countries": …`) and carries Druid's message.
import { parseDuration } from '../../graph/duration.ts';
import type { DruidSourceSpec } from '../../graph/spec.ts';
import type { Rec } from '../../core/record.ts';
import { runDruidSql } from './druid-sql.ts';

export function druidTableLoader(name: string, spec: DruidSourceSpec): () => Promise<Rec[]> {
  return () =>
    runDruidSql({
      url: spec.url,
      query: spec.query,
      timeoutMs: parseDuration(spec.timeout ?? '30s') ?? 30_000,
      who: `lookup table "${name}"`,
    });
}
