// Every field of both CRDs documents itself: `kubectl explain` shows a property's
// `description`, so each property of each served version's openAPIV3Schema (spec and status,
// nested, reached through properties, items and additionalProperties) must carry a non-empty
// one. Array items and map values are documented by the field that holds them, so only
// properties (and the root) are required to have a description. The root's `metadata` is the
// exception: the API server refuses anything but its type there (it serves ObjectMeta, with
// Kubernetes' own documentation, in its place). `kubectl explain` does not show schema
// defaults, so a field with a scalar default names it in its description ("Default 10s.").
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const crds = join(import.meta.dirname, '..', '..', 'crds');

interface Schema {
  description?: unknown;
  default?: unknown;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
}

interface Crd {
  spec: { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
}

const documented = (s: Schema): boolean => typeof s.description === 'string' && s.description.trim() !== '';

/** Whether a scalar default appears in the description as "Default <value>" (objects, like `{}`, need not). */
const namesDefault = (s: Schema): boolean =>
  s.default === undefined ||
  typeof s.default === 'object' ||
  (typeof s.description === 'string' && s.description.includes(`Default ${String(s.default)}`));

/**
 * Paths (like `spec.graph.sources[].kafka`) of the properties under `schema` without a
 * description, or, suffixed ` (default)`, whose description does not name their default.
 */
function undocumented(schema: Schema, path: string): string[] {
  const out: string[] = [];
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const p = path ? `${path}.${name}` : name;
    if (p === 'metadata') continue;
    if (!documented(prop)) out.push(p);
    else if (!namesDefault(prop)) out.push(`${p} (default)`);
    out.push(...undocumented(prop, p));
  }
  const values = schema.additionalProperties;
  if (schema.items) out.push(...undocumented(schema.items, `${path}[]`));
  if (typeof values === 'object') out.push(...undocumented(values, `${path}{}`));
  return out;
}

describe.each(['streamjobs.tributary.dev.yaml', 'druiddatasources.tributary.dev.yaml'])('%s', (file) => {
  const crd = parse(readFileSync(join(crds, file), 'utf8')) as Crd;
  const versions = crd.spec.versions.map((v) => [v.name, v.schema.openAPIV3Schema] as const);

  it.each(versions)('%s documents every field', (_version, root) => {
    const missing = [...(documented(root) ? [] : ['(root)']), ...undocumented(root, '')];
    const why = `fields without a description, or not naming their default:\n  ${missing.join('\n  ')}`;
    expect(missing, why).toEqual([]);
  });
});

describe('undocumented', () => {
  it('walks properties, items, additionalProperties; skips the root metadata; wants defaults named', () => {
    const schema: Schema = {
      properties: {
        metadata: {},
        a: { description: 'ok', properties: { b: {}, metadata: {} } },
        d: { description: 'a duration like 10s', default: '10s', properties: { e: { description: 'x', default: {} } } },
        f: { description: 'on or off. Default false.', default: false },
        list: { description: 'ok', items: { properties: { c: { description: ' ' } } } },
        map: { description: 'ok', additionalProperties: { properties: { d: {} } } },
      },
    };
    expect(undocumented(schema, '')).toEqual(['a.b', 'a.metadata', 'd (default)', 'list[].c', 'map{}.d']);
  });
});
