// The outages this process's components report (core/outage.ts), for GET /v1/status and
// /metrics. One entry per reporter (a source, sink or the checkpoint storage of one slot): each
// reporter gets its own `ReportOutage` and only ever replaces or clears its own entry, so two
// slots reading one broker never clear each other's report.
import type { DependencyOutage, ReportOutage } from './outage.ts';

const pairKey = (o: DependencyOutage): string => JSON.stringify([o.dependency, o.component]);

export class OutageBoard {
  private readonly current = new Map<string, DependencyOutage>();
  /** Every outage ever reported, by dependency and component: the metric keeps a series at 0 once one ended. */
  private readonly seen = new Set<string>();

  /** The report function of one reporter, `key` unique per reporter (e.g. `source:in:0`). */
  reporter(key: string): ReportOutage {
    return (o) => {
      if (!o) {
        this.current.delete(key);
        return;
      }
      const prev = this.current.get(key);
      // `since` belongs to the outage, not to the last report of it.
      this.current.set(key, prev && prev.dependency === o.dependency ? { ...o, since: prev.since } : o);
      this.seen.add(pairKey(o));
    };
  }

  /**
   * The current outages, one per dependency and component (slots of one process reporting the
   * same one merge: the earliest `since`, the newest error), oldest first.
   */
  list(): DependencyOutage[] {
    const merged = new Map<string, DependencyOutage>();
    for (const o of this.current.values()) {
      const k = pairKey(o);
      const m = merged.get(k);
      merged.set(k, m && m.since < o.since ? { ...o, since: m.since } : o);
    }
    return [...merged.values()].sort((a, b) => a.since.localeCompare(b.since));
  }

  /** For the gauge: every dependency and component ever reported, and whether it is unavailable now. */
  gauge(): { dependency: string; component: string; unavailable: boolean }[] {
    const now = new Set(this.list().map(pairKey));
    return [...this.seen].map((k) => {
      const [dependency, component] = JSON.parse(k) as [string, string];
      return { dependency, component, unavailable: now.has(k) };
    });
  }
}
