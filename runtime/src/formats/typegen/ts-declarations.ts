// The TypeScript a schema's type generator writes: named declarations in the order they were
// first needed, property keys quoted only when they must be, names made identifiers. Shared by
// the Avro, Protobuf and JSON Schema generators (schema-types.ts picks one).

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A property key as TypeScript accepts it: bare when an identifier, else a string literal. */
export function propertyKey(name: string): string {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

/** A string literal type. */
export function literal(value: string | number | boolean | null): string {
  return JSON.stringify(value);
}

/** A union of types, each once, in order; `never` when empty. */
export function union(types: readonly string[]): string {
  const distinct = [...new Set(types)];
  if (distinct.length === 0) return 'never';
  return distinct.map((t) => (t.includes('=>') ? `(${t})` : t)).join(' | ');
}

/** An array of `item`, parenthesized when it is a union. */
export function arrayOf(item: string): string {
  return item.includes(' | ') || item.includes(' & ') ? `(${item})[]` : `${item}[]`;
}

export interface Property {
  readonly name: string;
  readonly type: string;
  readonly optional?: boolean;
  readonly doc?: string;
}

/** Collects the named declarations of one generated file; a name is declared once. */
export class Declarations {
  private readonly byName = new Map<string, string>();
  private readonly taken = new Set<string>();

  /**
   * A TypeScript name for a schema's type name (`com.acme.Click` → `Click`; a clash with another
   * schema name gets the namespace: `AcmeClick`), the same for the same schema name.
   */
  private readonly names = new Map<string, string>();
  nameFor(schemaName: string): string {
    const known = this.names.get(schemaName);
    if (known !== undefined) return known;
    const parts = schemaName.split('.').filter(Boolean).map(pascal);
    let name = parts.at(-1) ?? 'Anonymous';
    for (let i = parts.length - 2; this.taken.has(name) && i >= 0; i--) name = `${parts[i]}${name}`;
    for (let n = 2; this.taken.has(name); n++) name = `${parts.at(-1) ?? 'Anonymous'}${n}`;
    this.taken.add(name);
    this.names.set(schemaName, name);
    return name;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Reserves `name` before its body is known (a recursive type refers to itself). */
  reserve(name: string): void {
    if (!this.byName.has(name)) this.byName.set(name, '');
  }

  interface(name: string, props: readonly Property[], doc?: string): void {
    const lines = props.map(
      (p) =>
        `${p.doc ? `  /** ${oneLine(p.doc)} */\n` : ''}  ${propertyKey(p.name)}${p.optional ? '?' : ''}: ${p.type};`,
    );
    this.byName.set(name, `${docLine(doc)}export interface ${name} {\n${lines.join('\n')}\n}`);
  }

  alias(name: string, type: string, doc?: string): void {
    this.byName.set(name, `${docLine(doc)}export type ${name} = ${type};`);
  }

  /** The file: a header, then every declaration in the order first named. */
  render(header: string): string {
    const body = [...this.byName.values()].filter(Boolean).join('\n\n');
    return `${header}\n\n${body}\n`;
  }
}

function pascal(s: string): string {
  const cleaned = s.replace(/[^A-Za-z0-9_$]+/g, '_');
  const p = cleaned.charAt(0).toUpperCase() + cleaned.slice(1);
  return /^[0-9]/.test(p) ? `_${p}` : p;
}

function oneLine(s: string): string {
  return s.replace(/\*\//g, '* /').replace(/\s+/g, ' ').trim();
}

function docLine(doc: string | undefined): string {
  return doc ? `/** ${oneLine(doc)} */\n` : '';
}
