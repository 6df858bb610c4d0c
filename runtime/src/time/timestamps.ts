// Extracts event time from a record field: epoch millis (number, integer or numeric string) or ISO-8601.
import type { TimestampSpec } from '../graph/spec.ts';

/** Returns NaN when the field is missing or unparseable; callers treat that as a bad record. */
export function timestampExtractor(spec: TimestampSpec): (rec: Record<string, unknown>) => number {
  // Validation guarantees a field whenever there is no assigner function.
  const field = spec.field as string;
  if (spec.format === 'iso') {
    return (rec) => {
      const v = rec[field];
      return typeof v === 'string' ? Date.parse(v) : Number.NaN;
    };
  }
  return (rec) => {
    const v = rec[field];
    if (typeof v === 'number') return Number.isFinite(v) ? Math.floor(v) : Number.NaN;
    if (typeof v === 'bigint') return Number(v); // a typed format's integer (an Avro timestamp-millis)
    if (typeof v === 'string' && v !== '') return Math.floor(Number(v));
    return Number.NaN;
  };
}
