// A source's watermark alignment as it runs: the spec's `timestamp.alignment` with its
// defaults filled in (on for every event-time source unless `alignment: false`: ingestion time
// follows the clock, which needs no alignment).
import { parseDuration } from './duration.ts';
import { ALIGNMENT_DEFAULTS, type SourceSpec } from './spec.ts';

export interface ResolvedAlignment {
  group: string;
  driftMs: number;
  updateIntervalMs: number;
}

/** Undefined when the source is not aligned: `alignment: false`, or no event time (ingestion time). */
export function resolveAlignment(spec: SourceSpec): ResolvedAlignment | undefined {
  const ts = spec.timestamp;
  if (!ts || ts.alignment === false) return undefined;
  const a = ts.alignment ?? ALIGNMENT_DEFAULTS;
  return {
    group: ('group' in a ? a.group : undefined) ?? spec.name,
    driftMs: parseDuration(a.maxDrift) ?? 0,
    updateIntervalMs: parseDuration(a.updateInterval ?? ALIGNMENT_DEFAULTS.updateInterval) ?? 200,
  };
}

/** A source slot's member id in its alignment group. */
export function alignmentMember(source: string, slot: number): string {
  return `${source}#${slot}`;
}
