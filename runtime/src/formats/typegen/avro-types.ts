// TypeScript types of the records an Avro schema decodes into, as the Avro codec maps values
// (avro-values.ts, docs/runtime/formats.md "Avro → record"): int and long are bigint, float and
// double numbers, bytes and fixed base64 strings, enums their symbols, maps objects, a union
// whose branches differ by JSON kind the union of its branches, another one
// `{ "<branch name>": value }`. The type is the codec's own (parseAvro) and the union decision
// avro-values.ts's, so the types cannot drift from what the codec produces.
import type { Type } from 'avsc';
import { TributaryError } from '../../errors.ts';
import { arrayOf, Declarations, literal, union, type Property } from './ts-declarations.ts';
import { parseAvro } from '../avro/avro-schema.ts';
import { isPlainUnion } from '../avro/avro-values.ts';
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
  const type = parseAvro(schema, 'the schema', refs);
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
    case 'abstract:long':
      return 'bigint';
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
    case 'union:wrapped':
      if (isPlainUnion(type)) return union((t.types ?? []).map((b) => tsOf(b, decl)));
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
