// Decoding of raw values (Kafka message values, file lines) into records.
import type { RecordFormat } from '../graph/spec.ts';
import type { Rec } from '../core/record.ts';

export type DecodeResult = { ok: true; rec: Rec } | { ok: false; reason: string; error: string };

const dec = new TextDecoder();

/**
 * A decoded JSON record's source bytes, set only when the graph lets them through unchanged
 * (graph/pass-through.ts). Non-enumerable: a spread or Object.assign copy of the record (a new
 * record) does not carry them, and neither does any serialisation.
 */
const SOURCE_BYTES = Symbol('tributary.sourceBytes');

/** The exact JSON a Kafka sink may write for `rec` instead of stringifying it, if known. */
export function sourceBytes(rec: Rec): Buffer | undefined {
  return (rec as { [SOURCE_BYTES]?: Buffer })[SOURCE_BYTES];
}

/** `keepBytes`: a JSON object keeps `value` (a Buffer) as its source bytes (sourceBytes). */
export function decodeValue(format: RecordFormat, value: Buffer | string | null, keepBytes = false): DecodeResult {
  if (format === 'bytes')
    return {
      ok: true,
      rec: {
        value:
          value === null
            ? null
            : typeof value === 'string'
              ? Buffer.from(value).toString('base64')
              : value.toString('base64'),
      },
    };
  const text = value === null ? null : typeof value === 'string' ? value : dec.decode(value);
  if (format === 'string') return { ok: true, rec: { value: text } };
  if (text === null) return { ok: false, reason: 'null_value', error: 'record has no value' };
  try {
    const v: unknown = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      return {
        ok: false,
        reason: 'not_an_object',
        error: `expected a JSON object, got ${Array.isArray(v) ? 'an array' : typeof v}`,
      };
    if (keepBytes && typeof value !== 'string') Object.defineProperty(v, SOURCE_BYTES, { value });
    return { ok: true, rec: v as Rec };
  } catch (e) {
    return { ok: false, reason: 'invalid_json', error: (e as Error).message };
  }
}
