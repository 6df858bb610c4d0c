// Checks a whole manifest (apiVersion, kind, metadata, spec, status) against its CRD's openAPIV3Schema, as the
// apiserver reads it: a field the schema does not name is an error here (`spec.checkpointng: unknown field`)
// where the apiserver would prune it silently (or refuse it under strict field validation), so `tributary
// validate` does not call valid what `kubectl apply` would run without the field. Structural only: types,
// required fields, enums, bounds, patterns; the CEL rules (x-kubernetes-validations) and formats are left to
// the apiserver and to the graph's own validator, which names unknown fields inside the graph's nodes (their
// schema keeps them: x-kubernetes-preserve-unknown-fields, respected here as there).
// The schema is read from the CRDs this package ships (crds/, generated from the operator's types), found above
// this module both in a checkout (runtime/src/graph/) and in the packed package (dist/runtime/src/graph/).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { TributaryError, type ValidationIssue } from '../errors.ts';
import { isObj, type Obj } from './checker.ts';

/** What of a CRD the check needs: its kind, the apiVersions it serves, and each version's schema. */
interface Crd {
  kind: string;
  group: string;
  versions: Map<string, Obj>;
}

/** The fields of ObjectMeta a manifest may set (the CRD's schema says only `type: object`). */
const STRING_MAP = { type: 'object', additionalProperties: { type: 'string' } };
const OBJECT_META: Obj = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', maxLength: 253 },
    generateName: { type: 'string' },
    namespace: { type: 'string', maxLength: 63 },
    labels: STRING_MAP,
    annotations: STRING_MAP,
    finalizers: { type: 'array', items: { type: 'string' } },
    ownerReferences: { type: 'array', items: { type: 'object' } },
    uid: { type: 'string' },
    resourceVersion: { type: 'string' },
    generation: { type: 'integer' },
    creationTimestamp: { type: ['string', 'null'] },
    deletionTimestamp: { type: 'string' },
    deletionGracePeriodSeconds: { type: 'integer' },
    managedFields: { type: 'array', items: { type: 'object' } },
    selfLink: { type: 'string' },
  },
};

/** The crds/ directory of this checkout or package: the nearest ancestor of this module that has one. */
function crdsDir(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, 'crds');
    if (existsSync(join(candidate, 'streamjobs.tributary.dev.yaml'))) return candidate;
    if (dirname(dir) === dir)
      throw new TributaryError('TRIB_INVARIANT', `no crds/ directory above ${import.meta.dirname}: a broken install`);
  }
}

let crds: Map<string, Crd> | undefined;

/** The shipped CRDs by kind, read once. */
function crdsByKind(): Map<string, Crd> {
  if (crds) return crds;
  const dir = crdsDir();
  crds = new Map();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    const doc = parseYaml(readFileSync(join(dir, f), 'utf8')) as unknown;
    if (!isObj(doc) || doc['kind'] !== 'CustomResourceDefinition' || !isObj(doc['spec'])) continue;
    const spec = doc['spec'] as { group: string; names: { kind: string }; versions: Obj[] };
    const versions = new Map<string, Obj>();
    for (const v of spec.versions) {
      const schema = (v['schema'] as Obj | undefined)?.['openAPIV3Schema'];
      if (v['served'] === true && isObj(schema)) versions.set(v['name'] as string, schema);
    }
    crds.set(spec.names.kind, { kind: spec.names.kind, group: spec.group, versions });
  }
  return crds;
}

/**
 * The structural schema as a JSON Schema Ajv checks: an object node that neither preserves unknown fields nor
 * has additionalProperties refuses fields it does not name (the apiserver prunes them); nullable, int-or-string
 * and the root's metadata become what the apiserver takes them to mean; extensions and CEL rules are dropped.
 */
export function toJsonSchema(s: Obj, root = true): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-kubernetes-') || k === 'nullable' || k === 'default' || k === 'format') continue;
    if (k === 'properties' && isObj(v))
      out[k] = Object.fromEntries(
        Object.entries(v).map(([name, p]) => [
          name,
          root && name === 'metadata' ? OBJECT_META : toJsonSchema(p as Obj, false),
        ]),
      );
    else if ((k === 'items' || k === 'additionalProperties') && isObj(v)) out[k] = toJsonSchema(v, false);
    else if ((k === 'anyOf' || k === 'oneOf' || k === 'allOf') && Array.isArray(v))
      out[k] = v.map((x) => toJsonSchema(x as Obj, false));
    else out[k] = v;
  }
  if (s['x-kubernetes-int-or-string'] === true) out['anyOf'] = [{ type: 'integer' }, { type: 'string' }];
  if (s['nullable'] === true && typeof out['type'] === 'string') out['type'] = [out['type'], 'null'];
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  if (out['type'] === 'object' && !preserve && !('additionalProperties' in out)) out['additionalProperties'] = false;
  return out;
}

const validators = new Map<string, ValidateFunction>();

function validatorFor(crd: Crd, version: string, schema: Obj): ValidateFunction {
  const key = `${crd.kind}/${version}`;
  let v = validators.get(key);
  if (!v) {
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
    v = ajv.compile(toJsonSchema(schema));
    validators.set(key, v);
  }
  return v;
}

/** `/spec/graph/sources/0/name` → `spec.graph.sources[0].name`. */
function dotted(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  }
  return out;
}

const join2 = (base: string, field: string) => (base === '' ? field : `${base}.${field}`);

function issueOf(e: ErrorObject): ValidationIssue {
  const at = dotted(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return { path: join2(at, String(p['additionalProperty'])), message: 'unknown field' };
    case 'required':
      return { path: join2(at, String(p['missingProperty'])), message: 'required' };
    case 'type':
      return { path: at, message: `expected ${String(p['type']).replace(',', ' or ')}` };
    case 'enum':
      return { path: at, message: `must be one of ${(p['allowedValues'] as unknown[]).join(', ')}` };
    default:
      return { path: at, message: e.message ?? e.keyword };
  }
}

/**
 * The issues of manifest `doc` against its kind's CRD, every one with its field path (empty when it is valid).
 * An apiVersion or kind no shipped CRD serves is itself the issue.
 */
export function manifestIssues(doc: Obj): ValidationIssue[] {
  const kind = doc['kind'];
  const crd = typeof kind === 'string' ? crdsByKind().get(kind) : undefined;
  if (!crd) {
    const known = [...crdsByKind().keys()].join(', ');
    return [{ path: 'kind', message: `expected one of ${known}, got ${JSON.stringify(kind ?? null)}` }];
  }
  const apiVersion = doc['apiVersion'];
  const served = [...crd.versions.keys()].map((v) => `${crd.group}/${v}`);
  const version = typeof apiVersion === 'string' ? apiVersion.slice(crd.group.length + 1) : '';
  const schema = typeof apiVersion === 'string' && served.includes(apiVersion) ? crd.versions.get(version) : undefined;
  if (!schema)
    return [
      { path: 'apiVersion', message: `expected ${served.join(' or ')}, got ${JSON.stringify(apiVersion ?? null)}` },
    ];
  const validate = validatorFor(crd, version, schema);
  const issues: ValidationIssue[] = [];
  const meta = doc['metadata'];
  if (!isObj(meta) || (typeof meta['name'] !== 'string' && typeof meta['generateName'] !== 'string'))
    issues.push({ path: 'metadata.name', message: 'required' });
  if (!validate(doc)) {
    const seen = new Set<string>();
    for (const e of validate.errors ?? []) {
      // Each branch of an anyOf reports its own failure; the anyOf's own error says enough.
      if (e.schemaPath.includes('/anyOf/')) continue;
      const i = issueOf(e);
      const key = `${i.path}: ${i.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      issues.push(i);
    }
  }
  return issues;
}

/** Throws TRIB_MANIFEST_INVALID listing every issue of `doc` (see manifestIssues); `origin` names the file. */
export function checkManifest(doc: Obj, origin: string): void {
  const issues = manifestIssues(doc);
  if (issues.length === 0) return;
  const list = issues.map((i) => `  ${i.path}: ${i.message}`).join('\n');
  throw new TributaryError(
    'TRIB_MANIFEST_INVALID',
    `${origin}: not a valid ${String(doc['kind'] ?? 'manifest')} (its CRD's schema):\n${list}`,
    { path: issues[0]?.path ?? '', issues },
  );
}
