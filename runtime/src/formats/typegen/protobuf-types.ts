// TypeScript types of the records a Protobuf message decodes into, as the Protobuf codec maps
// them (protobuf-values.ts, docs/runtime/formats.md "Protobuf → record"): every field present
// with its default when unset, except a field of a oneof (a proto3 `optional` too), absent when
// unset; a message field null when unset; enums their names; bytes base64; integers
// bigint; maps objects; repeated fields arrays.
import protobuf from 'protobufjs';
import { TributaryError } from '../../errors.ts';
import { indexesOf, parseProto } from '../protobuf/protobuf-schema.ts';
import { importsOf, NO_REFERENCES, type References } from '../registry/references.ts';
import { arrayOf, Declarations, literal, union, type Property } from './ts-declarations.ts';

const NUMBERS = new Set(['double', 'float']);
const INTEGERS = new Set([
  'int32',
  'uint32',
  'sint32',
  'fixed32',
  'sfixed32',
  'int64',
  'uint64',
  'sint64',
  'fixed64',
  'sfixed64',
]);

/** The declarations for the message `messageName` (default: the file's first) of a .proto text. */
export function protobufTypes(
  proto: string,
  messageName?: string,
  refs: References = NO_REFERENCES,
): { root: string; text: string } {
  const file = parseProto(proto, 'the Protobuf schema', importsOf(refs));
  const { type } = indexesOf(file, messageName, 'the Protobuf schema');
  const decl = new Declarations();
  const root = messageType(type, decl);
  return { root, text: decl.render('') };
}

function messageType(type: protobuf.Type, decl: Declarations): string {
  const name = decl.nameFor(type.fullName.replace(/^\./, ''));
  if (decl.has(name)) return name;
  decl.reserve(name);
  const props: Property[] = type.fieldsArray.map((f) => {
    const one = valueType(f, decl);
    const t = f.map ? `Record<string, ${one}>` : f.repeated ? arrayOf(one) : one;
    // protobufjs' toObject sets no default on a oneof member: it is there only when set.
    const inOneof = f.partOf !== null && f.partOf !== undefined;
    const message = !f.map && !f.repeated && f.resolvedType instanceof protobuf.Type;
    return {
      name: f.name,
      type: message && !inOneof ? `${t} | null` : t,
      ...(inOneof ? { optional: true } : {}),
      ...(f.comment ? { doc: f.comment } : {}),
    };
  });
  decl.interface(name, props, type.comment ?? undefined);
  return name;
}

function valueType(f: protobuf.Field, decl: Declarations): string {
  const r = f.resolvedType;
  if (r instanceof protobuf.Type) return messageType(r, decl);
  if (r instanceof protobuf.Enum) {
    const name = decl.nameFor(r.fullName.replace(/^\./, ''));
    if (!decl.has(name)) decl.alias(name, union(Object.keys(r.values).map(literal)), r.comment ?? undefined);
    return name;
  }
  if (NUMBERS.has(f.type)) return 'number';
  if (INTEGERS.has(f.type)) return 'bigint';
  if (f.type === 'bool') return 'boolean';
  if (f.type === 'string' || f.type === 'bytes') return 'string';
  throw new TributaryError(
    'TRIB_FORMAT_SCHEMA',
    `Protobuf field ${f.fullName}: type ${f.type} has no TypeScript mapping`,
  );
}
