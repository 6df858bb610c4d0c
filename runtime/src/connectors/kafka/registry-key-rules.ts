// Config rules of a Kafka source's or sink's registry-format keys (`keyFormat`, `keyField`,
// `registry.keySchema`, `registry.keyMessageName`; docs/runtime/formats.md, "Keys"). A key format
// needs a registry value format: the key's schema lives in the same registry as the value's, and
// a source's record is the value's fields plus the key's field, which only a value of fields can
// hold. A sink encodes its `key` expression's value, so it needs both the expression and a writer
// key schema. No registry client here: the operator loads these rules too.
import type { FieldTypes } from '../../core/record.ts';
import { isTributaryError } from '../../errors.ts';
import { checkKeySchema } from '../../formats/field-types.ts';
import type { RegistryFormat } from '../../graph/connector-spec.ts';
import { isObj, show, type Checker, type Obj } from '../../graph/checker.ts';
import { checkSchema, isRegistryFormat, REGISTRY_FORMATS } from './registry-config-rules.ts';

/** The record field a source's decoded key goes to. */
export const DEFAULT_KEY_FIELD = 'key';

/** The key options of a Kafka source (`role: source`) or sink at `p` (the rest of `registry`: checkRegistry). */
export function checkKeyFormat(c: Checker, s: Obj, p: string, role: 'source' | 'sink'): void {
  const keyFormat = s['keyFormat'];
  const r = isObj(s['registry']) ? s['registry'] : undefined;
  const path = `${p}.registry`;
  if (keyFormat === undefined) {
    if (role === 'source' && s['keyField'] !== undefined) c.add(`${p}.keyField`, 'only with keyFormat');
    for (const k of ['keySchema', 'keyMessageName'])
      if (r?.[k] !== undefined) c.add(`${path}.${k}`, 'only with keyFormat');
    return;
  }
  if (!isRegistryFormat(keyFormat)) {
    c.add(`${p}.keyFormat`, `expected one of ${REGISTRY_FORMATS.join(', ')}, got ${show(keyFormat)}`);
    return;
  }
  if (!isRegistryFormat(s['format'])) {
    c.add(
      `${p}.keyFormat`,
      `only with a registry value format (${REGISTRY_FORMATS.join(', ')}); format is ${show(s['format'] ?? 'json')}`,
    );
    return;
  }
  if (r === undefined) return; // checkRegistry reported it
  if (r['keySchema'] !== undefined) {
    checkSchema(c, r['keySchema'], `${path}.keySchema`);
    checkInlineKeySchema(c, s, p);
  } else if (role === 'sink')
    c.add(`${path}.keySchema`, 'required on a sink with keyFormat: the schema keys are written with');
  if (role === 'source') {
    c.string(s, 'keyField', p, false);
    if (r['keyMessageName'] !== undefined) c.add(`${path}.keyMessageName`, 'only on a sink (it applies to writing)');
    return;
  }
  if (s['key'] === undefined) c.add(`${p}.key`, 'required with keyFormat: the expression whose value is the key');
  if (r['keyMessageName'] !== undefined) {
    c.string(r, 'keyMessageName', path);
    if (keyFormat !== 'protobuf') c.add(`${path}.keyMessageName`, 'only with keyFormat protobuf');
  }
  const strategy = r['subjectStrategy'];
  const keySchema = r['keySchema'];
  if ((strategy === 'record' || strategy === 'topic-record') && isObj(keySchema) && 'version' in keySchema)
    c.add(
      `${path}.keySchema`,
      `subjectStrategy ${String(strategy)} names the subject after the schema: give it inline`,
    );
}

/**
 * A registry-key source's field types: `types` (the value's, declared or from an inline reader schema) with the
 * key's field as `dyn`: a message may have no key (null), and field types are not nested, so `key.<field>` is
 * checked per record (an inline key schema is checked here). A value schema that already has that field is an
 * error at `keyField` (the key would hide it); a declared `schema` that names it keeps its own type. Untyped
 * stays untyped.
 */
export function withKeyField(
  c: Checker,
  s: Obj,
  p: string,
  types: FieldTypes | undefined,
  declared: boolean,
): FieldTypes | undefined {
  if (types === undefined || !isRegistryFormat(s['keyFormat']) || !isRegistryFormat(s['format'])) return types;
  const field = typeof s['keyField'] === 'string' && s['keyField'] !== '' ? s['keyField'] : DEFAULT_KEY_FIELD;
  if (field in types) {
    if (!declared)
      c.add(
        `${p}.keyField`,
        `the value schema already has a field ${show(field)}: the key would hide it; name the key's field otherwise`,
      );
    return types;
  }
  return { ...types, [field]: 'dyn' };
}

/** An inline key schema the key codec could not read with is an error at its path. */
function checkInlineKeySchema(c: Checker, s: Obj, p: string): void {
  const r = s['registry'];
  const keySchema = isObj(r) ? r['keySchema'] : undefined;
  const inline = isObj(keySchema) ? keySchema['inline'] : undefined;
  if (typeof inline !== 'string') return;
  // Its referenced types are in the registry: the key codec reads it with them at open.
  if (isObj(keySchema) && Array.isArray(keySchema['references']) && keySchema['references'].length > 0) return;
  try {
    checkKeySchema(s['keyFormat'] as RegistryFormat, inline);
  } catch (e) {
    if (!isTributaryError(e)) throw e;
    c.add(`${p}.registry.keySchema.inline`, e.message);
  }
}
