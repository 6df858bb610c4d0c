// TypeScript types of the records a JSON Schema admits (the JSON Schema codec passes the parsed
// JSON through as it is): `properties` with `required` ones non-optional, `type` lists as unions,
// `enum`/`const` as literals, `items` as arrays, `additionalProperties` as a string index,
// `anyOf`/`oneOf` as unions, `allOf` as an intersection, local `$ref`s (`#/$defs/…`,
// `#/definitions/…`) as named types, and a `$ref` to a registered schema (a reference's name:
// registry/references.ts) as that schema's type, declared beside the schema's own. Anything it
// cannot express is `unknown`, never a narrower type than the schema admits.
import { TributaryError } from '../../errors.ts';
import { NO_REFERENCES, type References } from '../registry/references.ts';
import { arrayOf, Declarations, literal, union, type Property } from './ts-declarations.ts';

type Schema = boolean | Record<string, unknown>;

function parseSchema(text: string, what: string): Schema {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new TributaryError('TRIB_FORMAT_SCHEMA', `${what}: not a JSON Schema: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (typeof parsed !== 'boolean' && (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)))
    throw new TributaryError('TRIB_FORMAT_SCHEMA', `${what}: not a JSON Schema: expected an object or a boolean`);
  return parsed as Schema;
}

/**
 * The declarations for a JSON Schema text; its top-level type is exported as `rootName`. `refs`: the schema's
 * references, resolved; a `$ref` to one of their names is typed as that schema.
 */
export function jsonSchemaTypes(
  schema: string,
  rootName = 'Value',
  refs: References = NO_REFERENCES,
): { root: string; text: string } {
  const declarations = new Declarations();
  const gen = new JsonSchemaGen(parseSchema(schema, 'the schema'), declarations.nameFor(rootName), {
    declarations,
    refs,
    // Under the root's name: a definition whose name another document's took becomes <Root><Name>.
    defs: `#root.${rootName.replace(/[^A-Za-z0-9_$]+/g, '_')}`,
  });
  gen.declarations.reserve(gen.root);
  gen.named(gen.root, gen.top);
  return { root: gen.root, text: gen.declarations.render('') };
}

/** What the generators of one output share: its declarations, the references, and a key space per document. */
interface Shared {
  readonly declarations: Declarations;
  readonly refs: References;
  /** The prefix of this document's local definitions' keys (a referenced schema's `#/$defs/A` is not the schema's). */
  readonly defs: string;
}

class JsonSchemaGen {
  readonly declarations: Declarations;
  readonly top: Schema;
  /** The top-level type's name (`$ref: "#"` refers to it). */
  readonly root: string;
  private readonly shared: Shared;

  constructor(top: Schema, root: string, shared: Shared) {
    this.top = top;
    this.root = root;
    this.shared = shared;
    this.declarations = shared.declarations;
  }

  /** Declares `name` as `schema`: an interface for an object with properties, else an alias. */
  named(name: string, schema: Schema): void {
    const doc = typeof schema === 'object' ? (schema['description'] as string | undefined) : undefined;
    if (typeof schema === 'object' && isPlainObjectSchema(schema)) {
      this.declarations.interface(name, this.properties(schema), doc);
      return;
    }
    this.declarations.alias(name, this.ts(schema), doc);
  }

  ts(schema: Schema): string {
    if (schema === true) return 'unknown';
    if (schema === false) return 'never';
    const ref = schema['$ref'];
    if (typeof ref === 'string') return this.ref(ref);
    if ('const' in schema) return literalOf(schema['const']);
    if (Array.isArray(schema['enum'])) return union((schema['enum'] as unknown[]).map(literalOf));
    for (const key of ['anyOf', 'oneOf'] as const) {
      const alts = schema[key];
      if (Array.isArray(alts)) return union(alts.map((s) => this.ts(s as Schema)));
    }
    if (Array.isArray(schema['allOf'])) {
      const parts = (schema['allOf'] as Schema[]).map((s) => this.ts(s));
      return parts.map((p) => (p.includes(' | ') ? `(${p})` : p)).join(' & ') || 'unknown';
    }
    const type = schema['type'];
    const types = Array.isArray(type) ? (type as string[]) : typeof type === 'string' ? [type] : undefined;
    if (types === undefined) return isPlainObjectSchema(schema) ? this.inlineObject(schema) : 'unknown';
    return union(types.map((t) => this.ofType(t, schema)));
  }

  private ofType(type: string, schema: Record<string, unknown>): string {
    switch (type) {
      case 'string':
        return 'string';
      case 'number':
        return 'number';
      case 'integer':
        return 'bigint';
      case 'boolean':
        return 'boolean';
      case 'null':
        return 'null';
      case 'array': {
        const items = schema['items'];
        return arrayOf(items === undefined || Array.isArray(items) ? 'unknown' : this.ts(items as Schema));
      }
      case 'object':
        return this.inlineObject(schema);
      default:
        return 'unknown';
    }
  }

  private inlineObject(schema: Record<string, unknown>): string {
    const props = this.properties(schema);
    const extra = schema['additionalProperties'];
    const index =
      extra === undefined || extra === true ? undefined : extra === false ? undefined : this.ts(extra as Schema);
    if (props.length === 0) return `Record<string, ${index ?? 'unknown'}>`;
    const body = props.map((p) => `${JSON.stringify(p.name)}${p.optional ? '?' : ''}: ${p.type}`).join('; ');
    return `{ ${body} }`;
  }

  private properties(schema: Record<string, unknown>): Property[] {
    const props = (schema['properties'] ?? {}) as Record<string, Schema>;
    const required = new Set(Array.isArray(schema['required']) ? (schema['required'] as string[]) : []);
    return Object.entries(props).map(([name, s]) => ({
      name,
      type: this.ts(s),
      ...(required.has(name) ? {} : { optional: true }),
      ...(typeof s === 'object' && typeof s['description'] === 'string' ? { doc: s['description'] } : {}),
    }));
  }

  private ref(ref: string): string {
    const m = /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref);
    if (m === null) {
      if (ref === '#') return this.root;
      const referenced = this.shared.refs.byName.get(ref);
      if (referenced !== undefined) return this.referenced(ref, referenced.schema);
      return 'unknown'; // a remote or deep reference: not resolved here
    }
    const defs =
      typeof this.top === 'object' ? (this.top[m[1] as string] as Record<string, Schema> | undefined) : undefined;
    const target = defs?.[m[2] as string];
    if (target === undefined) throw new TributaryError('TRIB_FORMAT_SCHEMA', `JSON Schema $ref ${ref} names nothing`);
    const name = this.declarations.nameFor(`${this.shared.defs}.${m[2] as string}`);
    if (!this.declarations.has(name)) {
      this.declarations.reserve(name);
      this.named(name, target);
    }
    return name;
  }

  /** A registered schema a `$ref` names: declared once, by its title or its name's base (`address.json`: Address). */
  private referenced(ref: string, text: string): string {
    const schema = parseSchema(text, `the schema $ref ${ref} names`);
    const title = typeof schema === 'object' && typeof schema['title'] === 'string' ? schema['title'] : undefined;
    const base = (title ?? ref.replace(/^.*\//, '').replace(/\.[^.]*$/, '')).replace(/[^A-Za-z0-9_$]+/g, '_');
    // Dots split a key into name parts (ts-declarations.ts): the ref's own dots must not.
    const name = this.declarations.nameFor(`#ref.${ref.replace(/[^A-Za-z0-9_$]+/g, '_')}.${base}`);
    if (this.declarations.has(name)) return name;
    this.declarations.reserve(name);
    new JsonSchemaGen(schema, name, {
      ...this.shared,
      defs: `#ref.${ref.replace(/[^A-Za-z0-9_$]+/g, '_')}.${base}`,
    }).named(name, schema);
    return name;
  }
}

/** An object schema with declared properties and no schema for the others: an interface. */
function isPlainObjectSchema(s: Record<string, unknown>): boolean {
  const props = s['properties'];
  const extra = s['additionalProperties'];
  return (
    (s['type'] === 'object' || s['type'] === undefined) &&
    typeof props === 'object' &&
    props !== null &&
    Object.keys(props).length > 0 &&
    (extra === undefined || typeof extra === 'boolean')
  );
}

function literalOf(v: unknown): string {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return literal(v);
  return 'unknown';
}
