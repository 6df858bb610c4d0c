// Every field of both CRDs documents itself: `kubectl explain` shows a property's
// `description`, so each property of each served version's openAPIV3Schema (spec and status,
// nested, reached through properties, items and additionalProperties) must carry a non-empty
// one. Array items and map values are documented by the field that holds them, so only
// properties (and the root) are required to have a description.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const crds = join(import.meta.dirname, '..', '..', 'crds');

interface Schema {
  description?: unknown;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
}

interface Crd {
  spec: { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
}

/** Paths (like `spec.graph.sources[].kafka`) of the properties under `schema` without a description. */
function undocumented(schema: Schema, path: string): string[] {
  const out: string[] = [];
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const p = path ? `${path}.${name}` : name;
    if (typeof prop.description !== 'string' || prop.description.trim() === '') out.push(p);
    out.push(...undocumented(prop, p));
  }
  if (schema.items) out.push(...undocumented(schema.items, `${path}[]`));
  if (typeof schema.additionalProperties === 'object') out.push(...undocumented(schema.additionalProperties, `${path}{}`));
  return out;
}

describe.each(['streamjobs.tributary.dev.yaml', 'druiddatasources.tributary.dev.yaml'])('%s', (file) => {
  const crd = parse(readFileSync(join(crds, file), 'utf8')) as Crd;

  it.each(crd.spec.versions.map((v) => [v.name, v.schema.openAPIV3Schema] as const))('%s documents every field', (_version, root) => {
    const missing = typeof root.description === 'string' && root.description.trim() !== '' ? [] : ['(root)'];
    missing.push(...undocumented(root, ''));
    expect(missing, `fields without a description:\n  ${missing.join('\n  ')}`).toEqual([]);
  });
});

describe('undocumented', () => {
  it('walks properties, items and additionalProperties', () => {
    const schema: Schema = {
      properties: {
        a: { description: 'ok', properties: { b: {} } },
        list: { description: 'ok', items: { properties: { c: { description: ' ' } } } },
        map: { description: 'ok', additionalProperties: { properties: { d: {} } } },
      },
    };
    expect(undocumented(schema, '')).toEqual(['a.b', 'list[].c', 'map{}.d']);
  });
});
