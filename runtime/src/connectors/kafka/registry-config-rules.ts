// Config rules of a Kafka source's or sink's `registry:` block (formats avro, protobuf,
// json-schema; docs/runtime/formats.md). The block is required with those formats and refused
// with the others, so a job never silently reads Avro bytes as JSON or writes JSON where Avro
// readers wait. A sink writes with a schema it names (`schema`); a source reads as written
// without one. No registry client here: the operator loads these rules too.
import type { FieldTypes } from '../../core/record.ts';
import { isTributaryError } from '../../errors.ts';
import { registryFieldTypes } from '../../formats/field-types.ts';
import type { RegistryFormat } from '../../graph/connector-spec.ts';
import { isObj, show, type Checker, type Obj } from '../../graph/checker.ts';

export const REGISTRY_FORMATS = ['avro', 'protobuf', 'json-schema'] as const;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True when `format` is one of the registry formats. */
export function isRegistryFormat(format: unknown): boolean {
  return (REGISTRY_FORMATS as readonly unknown[]).includes(format);
}

/** `schema` (or `keySchema`): `{inline: "<text>"}` or `{version: n | "latest"}`, exactly one. */
export function checkSchema(c: Checker, v: unknown, path: string): void {
  if (!isObj(v)) {
    c.add(path, `expected {inline: "<schema text>"} or {version: <n> | "latest"}, got ${show(v)}`);
    return;
  }
  c.keys(v, ['inline', 'version', 'references'], path);
  if ((v['inline'] === undefined) === (v['version'] === undefined)) {
    c.add(path, 'expected exactly one of inline, version');
    return;
  }
  if (v['inline'] !== undefined) c.string(v, 'inline', path);
  if (v['references'] !== undefined) {
    if (v['inline'] === undefined)
      c.add(`${path}.references`, "only with inline (a version's references come from the registry)");
    else checkReferences(c, v['references'], `${path}.references`);
  }
  const version = v['version'];
  if (version !== undefined && version !== 'latest' && !(Number.isInteger(version) && (version as number) >= 1))
    c.add(`${path}.version`, `expected an integer ≥ 1 or "latest", got ${show(version)}`);
}

/** `references`: `[{name, subject, version}]`, names distinct (a name resolves to one schema). */
function checkReferences(c: Checker, v: unknown, path: string): void {
  if (!Array.isArray(v)) {
    c.add(path, `expected a list of {name, subject, version}, got ${show(v)}`);
    return;
  }
  const names = new Set<string>();
  v.forEach((ref: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isObj(ref)) {
      c.add(at, `expected {name, subject, version}, got ${show(ref)}`);
      return;
    }
    c.keys(ref, ['name', 'subject', 'version'], at);
    for (const k of ['name', 'subject']) c.string(ref, k, at);
    const version = ref['version'];
    if (!(Number.isInteger(version) && (version as number) >= 1))
      c.add(`${at}.version`, `expected an integer ≥ 1, got ${show(version)}`);
    const name = ref['name'];
    if (typeof name === 'string' && names.has(name)) c.add(`${at}.name`, `"${name}" is named twice`);
    if (typeof name === 'string') names.add(name);
  });
}

function checkUrl(c: Checker, r: Obj, path: string): void {
  const url = c.string(r, 'url', path);
  if (url === undefined) return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    c.add(`${path}.url`, `expected an http(s) URL, got ${show(url)}`);
    return;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    c.add(`${path}.url`, `expected an http(s) URL, got ${show(url)}`);
  else if (parsed.username !== '' || parsed.password !== '')
    c.add(`${path}.url`, 'credentials in the URL are refused; use basicAuth');
}

const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** `basicAuth`: `{usernameEnv, passwordEnv}` or `{secretRef: {name, usernameKey?, passwordKey?}}`. */
function checkBasicAuth(c: Checker, v: unknown, path: string): void {
  if (v === undefined) return;
  if (!isObj(v)) {
    c.add(path, `expected {usernameEnv, passwordEnv} or {secretRef: {name}}, got ${show(v)}`);
    return;
  }
  c.keys(v, ['usernameEnv', 'passwordEnv', 'secretRef'], path);
  const ref = v['secretRef'];
  if (ref !== undefined) {
    if (v['usernameEnv'] !== undefined || v['passwordEnv'] !== undefined)
      c.add(path, 'expected either secretRef or usernameEnv and passwordEnv, not both');
    if (!isObj(ref)) {
      c.add(`${path}.secretRef`, `expected {name, usernameKey?, passwordKey?}, got ${show(ref)}`);
      return;
    }
    c.keys(ref, ['name', 'usernameKey', 'passwordKey'], `${path}.secretRef`);
    const name = c.string(ref, 'name', `${path}.secretRef`);
    if (name !== undefined && !SECRET_NAME.test(name))
      c.add(`${path}.secretRef.name`, `expected a Secret name (a DNS subdomain), got ${show(name)}`);
    for (const k of ['usernameKey', 'passwordKey']) {
      const key = c.string(ref, k, `${path}.secretRef`, false);
      if (key !== undefined && !SECRET_KEY.test(key))
        c.add(`${path}.secretRef.${k}`, `expected a Secret key ([-._a-zA-Z0-9]+), got ${show(key)}`);
    }
    return;
  }
  for (const k of ['usernameEnv', 'passwordEnv']) {
    const name = c.string(v, k, path);
    if (name !== undefined && !ENV_NAME.test(name))
      c.add(`${path}.${k}`, `expected an environment variable name, got ${show(name)}`);
  }
}

/** The `format` and `registry` of a Kafka source (`role: source`) or sink at `p`. */
export function checkRegistry(c: Checker, s: Obj, p: string, role: 'source' | 'sink'): void {
  const r = s['registry'];
  const format = s['format'];
  if (!isRegistryFormat(format)) {
    if (r !== undefined)
      c.add(`${p}.registry`, `only with format ${REGISTRY_FORMATS.join(', ')}; format is ${show(format ?? 'json')}`);
    return;
  }
  if (r === undefined) {
    c.add(`${p}.registry`, `required with format ${String(format)}: the schema registry's url and schema`);
    return;
  }
  const path = `${p}.registry`;
  if (!isObj(r)) {
    c.add(path, `expected an object {url, schema, …}, got ${show(r)}`);
    return;
  }
  c.keys(
    r,
    [
      'url',
      'subjectStrategy',
      'schema',
      'keySchema',
      'autoRegister',
      'messageName',
      'keyMessageName',
      'caFile',
      'basicAuth',
    ],
    path,
  );
  checkUrl(c, r, path);
  c.oneOf(r, 'subjectStrategy', path, ['topic', 'record', 'topic-record']);
  if (r['schema'] !== undefined) checkSchema(c, r['schema'], `${path}.schema`);
  else if (role === 'sink') c.add(`${path}.schema`, 'required on a sink: the schema records are written with');
  if (role === 'source') {
    for (const k of ['autoRegister', 'messageName'])
      if (r[k] !== undefined) c.add(`${path}.${k}`, 'only on a sink (it applies to writing)');
  } else {
    if (r['autoRegister'] !== undefined && typeof r['autoRegister'] !== 'boolean')
      c.add(`${path}.autoRegister`, `expected true or false, got ${show(r['autoRegister'])}`);
    if (r['messageName'] !== undefined) {
      c.string(r, 'messageName', path);
      if (format !== 'protobuf') c.add(`${path}.messageName`, 'only with format protobuf');
    }
  }
  // A record-named subject takes its name from the schema: given inline it is known before the subject is.
  const strategy = r['subjectStrategy'];
  if ((strategy === 'record' || strategy === 'topic-record') && role === 'source')
    c.add(`${path}.subjectStrategy`, `only topic on a source (a reader schema by version is read from <topic>-value)`);
  else if ((strategy === 'record' || strategy === 'topic-record') && isObj(r['schema']) && 'version' in r['schema'])
    c.add(`${path}.subjectStrategy`, `${String(strategy)} names the subject after the schema: give the schema inline`);
  c.string(r, 'caFile', path, false);
  checkBasicAuth(c, r['basicAuth'], `${path}.basicAuth`);
}

/**
 * The field types of a registry-format source's records when its reader schema is given inline
 * (a schema by version is typed by the CLI, which can ask the registry: registry-field-types.ts);
 * a schema that is not one of records is an error at its path.
 */
export function inlineReaderTypes(c: Checker, s: Obj, p: string): FieldTypes | undefined {
  const r = s['registry'];
  const schema = isObj(r) ? r['schema'] : undefined;
  const inline = isObj(schema) ? schema['inline'] : undefined;
  if (!isRegistryFormat(s['format']) || typeof inline !== 'string') return undefined;
  // Types its references define need the registry: the CLI types such a source (registry-reader-types.ts).
  if (isObj(schema) && Array.isArray(schema['references']) && schema['references'].length > 0) return undefined;
  try {
    return registryFieldTypes(s['format'] as RegistryFormat, inline);
  } catch (e) {
    if (!isTributaryError(e)) throw e;
    c.add(`${p}.registry.schema.inline`, e.message);
    return undefined;
  }
}
