// Config rules of the collection source (`collection:` under a source): inline records, typed
// by the declared `schema` or else by the records themselves.
import { isObj, show } from '../../graph/checker.ts';
import type { ConnectorConfigRule, SourceConfigRule } from '../../graph/connector-rules.ts';
import type { FieldType, FieldTypes } from '../../core/record.ts';

function inferSchemaFromRecords(records: unknown[]): FieldTypes | undefined {
  const out: Record<string, FieldType> = {};
  for (const r of records) {
    if (!isObj(r)) return undefined;
    for (const [k, v] of Object.entries(r)) {
      const t: FieldType =
        typeof v === 'number'
          ? 'double'
          : typeof v === 'string'
            ? 'string'
            : typeof v === 'boolean'
              ? 'bool'
              : Array.isArray(v)
                ? 'list'
                : isObj(v)
                  ? 'map'
                  : 'dyn';
      out[k] = out[k] === undefined || out[k] === t ? t : 'dyn';
    }
  }
  // Fields missing from some records are still declared; reading them fails at run time like any missing key.
  return out;
}

const source: SourceConfigRule = (c, s, p) => {
  c.keys(s, ['records', 'values', 'schema'], p);
  if (s['values'] !== undefined) {
    if (s['records'] !== undefined) c.add(p, 'expected records or values, not both');
    if (!Array.isArray(s['values'])) c.add(`${p}.values`, `expected a list, got ${show(s['values'])}`);
    // Values of any type: the stream has no fields to type.
    return undefined;
  }
  const recs = s['records'];
  if (!Array.isArray(recs) || !recs.every(isObj)) {
    c.add(`${p}.records`, `expected a list of objects, got ${show(recs)}`);
    return undefined;
  }
  return s['schema'] !== undefined
    ? c.schema(s['schema'], `${p}.schema`)
    : recs.length > 0
      ? inferSchemaFromRecords(recs)
      : undefined;
};

export const collectionConfigRules = { source } satisfies ConnectorConfigRule;
