// Metrics of lookups by key (a kudu source in `mode: get`), created once per registry (every
// slot of a process shares it). Updated per fetch, not per record.
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
