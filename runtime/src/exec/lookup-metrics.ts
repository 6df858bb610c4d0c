// Metrics of lookups, created once per registry (every slot of a process shares it): of lookups
// by key (a kudu source in `mode: get`), updated per fetch, not per record; of table loads.
import { Counter, Gauge, type Registry } from 'prom-client';

/** tributary_lookup_fetched_keys_total{table}: keys asked of the table (cache misses and expired entries). */
export function lookupFetchedKeys(registry: Registry): Counter<'table'> {
  const name = 'tributary_lookup_fetched_keys_total';
  return (
    (registry.getSingleMetric(name) as Counter<'table'> | undefined) ??
    new Counter({
      name,
      help: 'Keys a lookup fetched from its table (not cached, or cached longer than its ttl)',
      labelNames: ['table'],
      registers: [registry],
    })
  );
}

/** tributary_lookup_cache_entries{table, slot}: rows and misses a slot's lookup cache holds. */
export function lookupCacheEntries(registry: Registry): Gauge<'table' | 'slot'> {
  const name = 'tributary_lookup_cache_entries';
  return (
    (registry.getSingleMetric(name) as Gauge<'table' | 'slot'> | undefined) ??
    new Gauge({
      name,
      help: "Entries (rows and misses) in a slot's lookup cache, at most the source's maxEntries",
      labelNames: ['table', 'slot'],
      registers: [registry],
    })
  );
}

/** tributary_lookup_refreshes_total{table, result}: loads of lookup tables (result ok|failed). */
export function lookupRefreshes(registry: Registry): Counter<'table' | 'result'> {
  const name = 'tributary_lookup_refreshes_total';
  return (
    (registry.getSingleMetric(name) as Counter<'table' | 'result'> | undefined) ??
    new Counter({
      name,
      help: 'Loads of lookup tables (a failed refresh keeps the last table)',
      labelNames: ['table', 'result'],
      registers: [registry],
    })
  );
}
