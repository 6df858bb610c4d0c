// Loads a druid source's table for a lookup step: its SQL query, run again on every refresh of
// the lookup table (connectors/lookup-table.ts), which indexes the rows by the step's column.
// A failure names the table (`lookup table "countries": …`) and carries Druid's message.
// Druid being unavailable is ridden out for `unavailableTimeout` (druidTableOutage).
import { parseDuration } from '../../graph/duration.ts';
import type { DruidSourceSpec } from '../../graph/spec.ts';
import type { Rec } from '../../core/record.ts';
import type { ReportOutage } from '../../core/outage.ts';
import type { LookupOutageOptions } from '../lookup-outage.ts';
import { isDruidUnavailable, runDruidSql } from './druid-sql.ts';

export const DEFAULT_DRUID_UNAVAILABLE_TIMEOUT = '5m';

/** How a druid lookup table rides out Druid being unreachable or answering 5xx (lookup-outage.ts). */
export function druidTableOutage(spec: DruidSourceSpec, report: ReportOutage | undefined): LookupOutageOptions {
  const text = spec.unavailableTimeout ?? DEFAULT_DRUID_UNAVAILABLE_TIMEOUT;
  return {
    dependency: 'druid',
    target: spec.url,
    isTransient: isDruidUnavailable,
    timeoutMs: parseDuration(text) ?? 300_000,
    timeoutText: `unavailableTimeout ${text}`,
    report,
  };
}

export function druidTableLoader(name: string, spec: DruidSourceSpec): () => Promise<Rec[]> {
  return () =>
    runDruidSql({
      url: spec.url,
      query: spec.query,
      timeoutMs: parseDuration(spec.timeout ?? '30s') ?? 30_000,
      who: `lookup table "${name}"`,
    });
}
