// Which sources may hand their records' original bytes through to a Kafka sink (the q0 path:
// Kafka → Kafka without JSON.stringify). A source qualifies when it is a Kafka source of
// format json with no timestamp-assigner function, and every stream downstream of it is a CEL
// `filter` step or a sink: filters only read records, so a record reaching a sink is the very
// object the source decoded, unchanged, and its source bytes are its exact JSON. Any other
// step (map, flatMap, keyBy, windows, union, lookups, functions — job code could change a
// record in place) disqualifies the source; so does a timestamp assigner (job code too).
import type { GraphSpec, StepSpec } from './spec.ts';

function onlyFilters(graph: GraphSpec, stream: string, seen: Set<string>): boolean {
  if (seen.has(stream)) return true;
  seen.add(stream);
  for (const step of graph.steps ?? []) {
    const from = Array.isArray(step.from) ? step.from : [step.from];
    if (!from.includes(stream)) continue;
    if (!isCelFilter(step) || !onlyFilters(graph, step.name, seen)) return false;
  }
  return true;
}

function isCelFilter(step: StepSpec): boolean {
  return typeof step.filter === 'string' && step.function === undefined && !Array.isArray(step.from);
}

/** Names of the sources whose records may carry their source bytes (see the file comment). */
export function passThroughSources(graph: GraphSpec): Set<string> {
  const out = new Set<string>();
  for (const s of graph.sources) {
    if (!s.kafka || (s.kafka.format ?? 'json') !== 'json' || s.timestamp?.assigner !== undefined) continue;
    if (onlyFilters(graph, s.name, new Set())) out.add(s.name);
  }
  return out;
}
