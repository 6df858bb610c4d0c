// Turns the JSON Schema that ts-json-schema-generator derives from a TypeScript type into a
// Kubernetes structural schema (the only kind an apiextensions.k8s.io/v1 CRD accepts):
//   - no $ref (the generator runs with expose "none", so every type is inlined; one left is an error);
//   - every node has a type, except a value of several JSON types (`string | string[]`, `unknown`,
//     a map of anything), which becomes x-kubernetes-preserve-unknown-fields with no type —
//     structural schemas allow no type inside anyOf, and the runtime's validator checks the value;
//   - `T | null` is `nullable: true`, a string-literal `const` an enum;
//   - additionalProperties false is dropped (CRDs forbid it beside properties; the apiserver prunes
//     unknown fields, or refuses them under strict field validation — except inside the graph's
//     nodes, whose unknown fields generate-crds.ts keeps for the runtime's validator to name);
//     a map of anything preserves fields;
//   - `@format int32`/`int64` makes a number an integer; `@duration` adds maxLength 32 and a CEL
//     rule; the `xKubernetes…` tags become `x-kubernetes-…` extensions;
//   - a property that has a default is not required (the apiserver fills it in; the TypeScript
//     type marks it required because the operator always sees it set).
// Descriptions are folded to one line, as the YAML's `>-` blocks were.

export type Schema = { [key: string]: unknown };

export class CrdGenerationError extends Error {
  readonly code = 'CRD_GENERATION';

  constructor(message: string) {
    super(message);
    this.name = 'CrdGenerationError';
  }
}

/** The rule `@duration` stands for: the durations runtime/src/graph/duration.ts parses, without sign or bare 0. */
export const DURATION_RULE = {
  rule: "self.matches('^([0-9]+(ms|s|m|h|d))+$')",
  message: 'must be a duration like "10s", "5m" or "1h30m"',
};

const EXTENSIONS: Record<string, string> = {
  xKubernetesValidations: 'x-kubernetes-validations',
  xKubernetesListType: 'x-kubernetes-list-type',
  xKubernetesListMapKeys: 'x-kubernetes-list-map-keys',
  xKubernetesPreserveUnknownFields: 'x-kubernetes-preserve-unknown-fields',
  xKubernetesIntOrString: 'x-kubernetes-int-or-string',
};
/** The JSDoc tags the generator must pass through (its `extraTags`). */
export const EXTRA_TAGS = [...Object.keys(EXTENSIONS), 'duration'];

/** Output key order: the YAML reads like the hand-written one did. */
const ORDER = [
  'type',
  'format',
  'nullable',
  'enum',
  'default',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'description',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-validations',
];

const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A value of several JSON types, keeping its description: an integer or a string where the type
 * is tagged @xKubernetesIntOrString (e.g. `number | string`), else any JSON value.
 */
function anyValue(s: Schema, path: string): Schema {
  const ext = extensions(s, path);
  const description = typeof s['description'] === 'string' ? { description: fold(s['description']) } : {};
  if (ext['x-kubernetes-int-or-string'] === true) return order({ ...description, ...ext });
  return order({ ...description, 'x-kubernetes-preserve-unknown-fields': true, ...ext });
}

/** The structural form of `schema`, found at `path` (for error messages). */
export function structural(schema: Schema, path = '(root)'): Schema {
  if ('$ref' in schema)
    throw new CrdGenerationError(`${path}: a $ref is left (a recursive type?); CRD schemas cannot hold one`);
  let s: Schema = { ...schema };

  // `T | null`: nullable T; several JSON types: any value.
  if (Array.isArray(s['anyOf'])) {
    const { anyOf, ...outer } = s;
    const variants = (anyOf as Schema[]).filter((v) => v['type'] !== 'null');
    const nullable = variants.length < (anyOf as Schema[]).length;
    if (variants.length !== 1) return anyValue(outer, path);
    s = { ...variants[0], ...outer, ...(nullable ? { nullable: true } : {}) };
  }
  if (Array.isArray(s['type'])) {
    const types = (s['type'] as string[]).filter((t) => t !== 'null');
    if (types.length !== 1) return anyValue(s, path);
    s = { ...s, type: types[0], ...(types.length < (s['type'] as string[]).length ? { nullable: true } : {}) };
  }
  if ('const' in s) {
    const { const: value, ...rest } = s;
    s = { ...rest, enum: [value] };
  }
  if (s['type'] === undefined) return anyValue(s, path);
  if (s['type'] === 'number' && (s['format'] === 'int32' || s['format'] === 'int64')) s['type'] = 'integer';

  if (typeof s['description'] === 'string') s['description'] = fold(s['description']);
  const ext = extensions(s, path);
  s = { ...s, ...ext };

  if (isSchema(s['properties'])) {
    const props = Object.fromEntries(
      Object.entries(s['properties']).map(([k, v]) => [k, structural(v as Schema, `${path}.${k}`)]),
    );
    s['properties'] = props;
    const required = ((s['required'] as string[] | undefined) ?? []).filter((k) => props[k]?.['default'] === undefined);
    if (required.length > 0) s['required'] = required;
    else delete s['required'];
  }
  const extra = s['additionalProperties'];
  // `Record<string, never>` (the generator's `{not: {}}`): an object that takes no fields.
  if (extra === false || (isSchema(extra) && isSchema(extra['not']) && Object.keys(extra).length === 1))
    delete s['additionalProperties'];
  else if (extra === true || (isSchema(extra) && Object.keys(extra).length === 0)) {
    delete s['additionalProperties'];
    if (!isSchema(s['properties'])) s['x-kubernetes-preserve-unknown-fields'] = true;
  } else if (isSchema(extra)) s['additionalProperties'] = structural(extra, `${path}{}`);
  if (isSchema(s['items'])) s['items'] = structural(s['items'], `${path}[]`);

  const unknown = Object.keys(s).filter((k) => !ORDER.includes(k));
  if (unknown.length > 0) throw new CrdGenerationError(`${path}: unexpected schema keys ${unknown.join(', ')}`);
  return order(s);
}

/** The x-kubernetes-* extensions `s`'s custom tags ask for (and `@duration`'s length and rule). */
function extensions(s: Schema, path: string): Schema {
  const out: Schema = {};
  for (const [tag, key] of Object.entries(EXTENSIONS)) {
    if (!(tag in s)) continue;
    out[key] = s[tag];
    delete s[tag];
  }
  if ('duration' in s) {
    if (s['type'] !== 'string') throw new CrdGenerationError(`${path}: @duration on a non-string`);
    delete s['duration'];
    s['maxLength'] ??= 32;
    out['x-kubernetes-validations'] = [DURATION_RULE, ...((out['x-kubernetes-validations'] as unknown[]) ?? [])];
  }
  const rules = out['x-kubernetes-validations'];
  if (rules !== undefined && !Array.isArray(rules))
    throw new CrdGenerationError(`${path}: @xKubernetesValidations must be a JSON5 array of {rule, message}`);
  // A long rule or message is continued over JSDoc lines (JSON5's backslash-newline), which leaves
  // the next line's indentation in the string: runs of whitespace count as one space.
  if (Array.isArray(rules))
    out['x-kubernetes-validations'] = rules.map((r: Schema) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' ? fold(v) : v])),
    );
  return out;
}

const fold = (text: string): string => text.replace(/\s+/g, ' ').trim();

function order(s: Schema): Schema {
  return Object.fromEntries(ORDER.filter((k) => k in s).map((k) => [k, s[k]]));
}
