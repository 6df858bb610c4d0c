// The CEL field types of the records a registry schema decodes into (docs/runtime/graph.md,
// "Types"), so a graph's expressions over a Kafka source of format avro, protobuf or json-schema
// are checked against the schema at `tributary validate`, at admission and at start: a field the
// schema lacks is an error naming it, a number compared with a string too. Follows the codecs'
// value mapping (formats.md, "Codecs"); a field whose value may be null or absent (an Avro
// union, a Protobuf message or oneof member, a JSON Schema property not required or of several
// types) is `dyn`, checked per record. Pure: no registry call (the caller fetches the text and
// resolves its references: registry/references.ts).
import avro, { type Type } from 'avsc';
import type { FieldType, FieldTypes } from '../core/record.ts';
import { TributaryError } from '../errors.ts';
import type { RegistryFormat } from '../graph/connector-spec.ts';
import protobuf from 'protobufjs';
import { referencedTypes } from './avro/avro-schema.ts';
import { parseProto } from './protobuf/protobuf-schema.ts';
import { importsOf, NO_REFERENCES, type References } from './registry/references.ts';

/** The record's fields and their types; TRIB_FORMAT_SCHEMA when the text is not such a schema of records. */
export function registryFieldTypes(
  format: RegistryFormat,
  schema: string,
  refs: References = NO_REFERENCES,
): FieldTypes {
  if (format === 'avro') return avroFields(schema, refs);
  if (format === 'protobuf') return protobufFields(schema, refs);
  return jsonSchemaFields(schema);
}

/**
 * Checks a key schema (a source's `keySchema`): TRIB_FORMAT_SCHEMA unless it is an Avro schema (a record or any
 * other type), a Protobuf file with a message, or a JSON Schema of an object with properties. Its field is `dyn`
 * whatever the schema: a message may have no key (null), and field types are not nested.
 */
export function checkKeySchema(format: RegistryFormat, schema: string): void {
  if (format === 'avro') avroSchema(schema);
  else registryFieldTypes(format, schema);
}

function avroSchema(text: string, refs: References = NO_REFERENCES): Type {
  const registry = referencedTypes(refs, 'the schema');
  try {
    return avro.Type.forSchema(JSON.parse(text) as avro.Schema, { registry });
  } catch (err) {
    throw new TributaryError('TRIB_FORMAT_SCHEMA', `not a valid Avro schema: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function avroFields(text: string, refs: References): FieldTypes {
  const t = avroSchema(text, refs) as Type & { fields?: readonly { name: string; type: Type }[] };
  if (t.typeName !== 'record')
    throw new TributaryError('TRIB_FORMAT_SCHEMA', `expected an Avro record, got ${t.typeName}`);
  return Object.fromEntries((t.fields ?? []).map((f) => [f.name, avroType(f.type)]));
}

function avroType(type: Type): FieldType {
  switch (type.typeName) {
    case 'int':
    case 'long':
      return 'int';
    case 'float':
    case 'double':
      return 'double';
    case 'string':
    case 'bytes':
    case 'fixed':
    case 'enum':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'record':
    case 'error':
    case 'map':
    case 'union:wrapped':
      return 'map';
    case 'array':
      return 'list';
    default:
      return 'dyn'; // null, and unions the decoder unwraps (a value or null)
  }
}

const INTEGERS = /^(int(32|64)|sint(32|64)|sfixed(32|64))$/;
const UNSIGNED = /^(uint(32|64)|fixed(32|64))$/;

function protobufFields(text: string, refs: References): FieldTypes {
  const message = parseProto(text, 'the reader schema', importsOf(refs)).messages[0];
  if (message === undefined) throw new TributaryError('TRIB_FORMAT_SCHEMA', 'the Protobuf schema has no message');
  return Object.fromEntries(
    message.fieldsArray.map((f): [string, FieldType] => {
      if (f.partOf) return [f.name, 'dyn']; // a oneof member or proto3 optional: absent when unset
      if (f.map) return [f.name, 'map'];
      if (f.repeated) return [f.name, 'list'];
      if (f.resolvedType instanceof protobuf.Type) return [f.name, 'dyn']; // null when unset
      if (f.resolvedType instanceof protobuf.Enum) return [f.name, 'string'];
      if (INTEGERS.test(f.type)) return [f.name, 'int'];
      if (UNSIGNED.test(f.type)) return [f.name, 'uint'];
      if (f.type === 'double' || f.type === 'float') return [f.name, 'double'];
      if (f.type === 'bool') return [f.name, 'bool'];
      return [f.name, 'string']; // string, bytes (base64)
    }),
  );
}

function jsonSchemaFields(text: string): FieldTypes {
  let s: unknown;
  try {
    s = JSON.parse(text);
  } catch (err) {
    throw new TributaryError('TRIB_FORMAT_SCHEMA', `not a JSON Schema: ${(err as Error).message}`, { cause: err });
  }
  const props = typeof s === 'object' && s !== null ? (s as Record<string, unknown>)['properties'] : undefined;
  if (typeof props !== 'object' || props === null)
    throw new TributaryError('TRIB_FORMAT_SCHEMA', 'expected a JSON Schema of an object with properties');
  const required = new Set((s as { required?: unknown }).required as string[] | undefined);
  return Object.fromEntries(
    Object.entries(props as Record<string, unknown>).map(([name, p]): [string, FieldType] => {
      const type = typeof p === 'object' && p !== null ? (p as { type?: unknown }).type : undefined;
      if (!required.has(name) || typeof type !== 'string') return [name, 'dyn'];
      const t = {
        string: 'string',
        number: 'double',
        integer: 'int',
        boolean: 'bool',
        object: 'map',
        array: 'list',
      }[type] as FieldType | undefined;
      return [name, t ?? 'dyn'];
    }),
  );
}
