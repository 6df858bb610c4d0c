// Config rules of the datagen source (`datagen:` under a source): the generator's options,
// and the field types of what it generates (Nexmark events, or the declared field generators).
import { isObj, show } from '../../graph/checker.ts';
import type { ConnectorConfigRule, SourceConfigRule } from '../../graph/connector-rules.ts';
import type { FieldType } from '../../core/record.ts';
import { nexmarkSchema } from './nexmark-schema.ts';

const source: SourceConfigRule = (c, s, p) => {
  c.keys(s, ['generator', 'seed', 'rate', 'count', 'startTime', 'eventRate', 'events', 'fields'], p);
  const gen = c.oneOf(s, 'generator', p, ['nexmark', 'schema'], true);
  c.number(s, 'seed', p, { integer: true });
  c.number(s, 'rate', p, { min: 0.001 });
  c.number(s, 'count', p, { integer: true, min: 0 });
  c.number(s, 'startTime', p, { integer: true, min: 0 });
  c.number(s, 'eventRate', p, { min: 0.001 });
  if (gen === 'nexmark') {
    const ev = s['events'];
    if (
      ev !== undefined &&
      !(Array.isArray(ev) && ev.length > 0 && ev.every((e) => e === 'person' || e === 'auction' || e === 'bid'))
    ) {
      c.add(`${p}.events`, `expected a non-empty list of person, auction, bid, got ${show(ev)}`);
    }
    return nexmarkSchema(Array.isArray(ev) ? (ev as string[]) : ['person', 'auction', 'bid']);
  }
  if (gen !== 'schema') return undefined;
  const fields = s['fields'];
  if (!isObj(fields) || Object.keys(fields).length === 0) {
    c.add(
      `${p}.fields`,
      `expected a map of field name → generator ({type: int|double|string|bool|sequence|timestamp, ...}), got ${show(fields)}`,
    );
    return undefined;
  }
  const schema: Record<string, FieldType> = {};
  for (const [f, g] of Object.entries(fields)) {
    const fp = `${p}.fields.${f}`;
    if (!isObj(g)) {
      c.add(fp, `expected an object like {type: int, min: 0, max: 10}, got ${show(g)}`);
      continue;
    }
    c.keys(g, ['type', 'min', 'max', 'values', 'prefix', 'cardinality'], fp);
    const t = c.oneOf(g, 'type', fp, ['int', 'double', 'string', 'bool', 'sequence', 'timestamp'], true);
    const min = c.number(g, 'min', fp);
    const max = c.number(g, 'max', fp);
    if (min !== undefined && max !== undefined && max < min)
      c.add(`${fp}.max`, `expected max ≥ min (${min}), got ${max}`);
    c.number(g, 'cardinality', fp, { integer: true, min: 1 });
    c.string(g, 'prefix', fp, false);
    const vals = g['values'];
    if (vals !== undefined && !(Array.isArray(vals) && vals.length > 0))
      c.add(`${fp}.values`, `expected a non-empty list, got ${show(vals)}`);
    schema[f] = t === 'string' ? 'string' : t === 'bool' ? 'bool' : 'double';
    if (Array.isArray(vals) && vals.length > 0)
      schema[f] = typeof vals[0] === 'string' ? 'string' : typeof vals[0] === 'boolean' ? 'bool' : 'double';
  }
  return schema;
};

export const datagenConfigRules = { source } satisfies ConnectorConfigRule;
