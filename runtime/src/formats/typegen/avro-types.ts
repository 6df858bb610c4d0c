// TypeScript types of the records an Avro schema decodes into, as the Avro codec maps values
// (avro-values.ts, docs/runtime/formats.md "Avro → record"): longs and the other numbers are
// numbers, bytes and fixed base64 strings, enums their symbols, maps objects, a union avsc
// unwraps (its branches differ by JS type) the union of its branches, one it wraps
// `{ "<branch name>": value }`. The decision is avsc's own (the same `Type` the codec builds), so
// the types cannot drift from what the codec produces.
import avro, { type Type } from 'avsc';
import { TributaryError } from '../../errors.ts';
import { arrayOf, Declarations, literal, union, type Property } from './ts-declarations.ts';
import { referencedTypes } from '../avro/avro-schema.ts';
import { NO_REFERENCES, type References } from '../registry/references.ts';

interface AnyType {
  readonly typeName: string;
  readonly name?: string;
  readonly doc?: string;
  readonly fields?: readonly { readonly name: string; readonly type: Type; readonly doc?: string }[];
  readonly itemsType?: Type;
  readonly valuesType?: Type;
  readonly types?: readonly Type[];
  readonly symbols?: readonly string[];
  readonly branchName?: string;
}

/** The declarations for `schema` (Avro JSON text); the top-level type is exported as `rootName` when given. */
export function avroTypes(
  schema: string,
  rootName?: string,
  refs: References = NO_REFERENCES,
): { root: string; text: string } {
  let type: Type;
  const registry = referencedTypes(refs, 'the schema');
  try {
    type = avro.Type.forSchema(JSON.parse(schema) as avro.Schema, { registry });
  } catch (err) {
    throw new TributaryError('TRIB_FORMAT_SCHEMA', `not a valid Avro schema: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const decl = new Declarations();
  const top = tsOf(type, decl);
  const root = rootName ?? (decl.has(top) ? top : 'Value');
  if (root !== top) decl.alias(root, top);
  return { root, text: decl.render('') };
}

function tsOf(type: Type, decl: Declarations): string {
  const t = type as unknown as AnyType;
  switch (t.typeName) {
    case 'null':
      return 'null';
    case 'boolean':
      return 'boolean';
    case 'int':
    case 'long':
    case 'float':
    case 'double':
      return 'number';
    case 'string':
    case 'bytes':
      return 'string';
    case 'fixed':
      return 'string';
    case 'enum': {
      const name = decl.nameFor(t.name ?? 'Enum');
      if (!decl.has(name)) decl.alias(name, union((t.symbols ?? []).map(literal)), t.doc);
      return name;
    }
    case 'record':
    case 'error': {
      const name = decl.nameFor(t.name ?? 'Record');
      if (decl.has(name)) return name;
      decl.reserve(name);
      const props: Property[] = (t.fields ?? []).map((f) => ({
        name: f.name,
        type: tsOf(f.type, decl),
        ...(f.doc ? { doc: f.doc } : {}),
      }));
      decl.interface(name, props, t.doc);
      return name;
    }
    case 'array':
      return arrayOf(tsOf(t.itemsType as Type, decl));
    case 'map':
      return `Record<string, ${tsOf(t.valuesType as Type, decl)}>`;
    case 'union:unwrapped':
      return union((t.types ?? []).map((b) => tsOf(b, decl)));
    case 'union:wrapped':
      return union(
        (t.types ?? []).map((b) => {
          if ((b as unknown as AnyType).typeName === 'null') return 'null';
          return `{ ${JSON.stringify((b as unknown as AnyType).branchName)}: ${tsOf(b, decl)} }`;
        }),
      );
    default:
      // Logical types the codec does not register decode as their underlying type (handled above).
      throw new TributaryError('TRIB_FORMAT_SCHEMA', `Avro type ${t.typeName} has no TypeScript mapping`);
  }
}
