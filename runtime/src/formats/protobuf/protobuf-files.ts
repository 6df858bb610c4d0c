// A Protobuf schema and the files it imports, parsed into one protobufjs root: the imports come
// from the schema's resolved references (by import path = reference name, as Confluent's
// serializers register them) or, for the Google well-known types (google/protobuf/timestamp.proto,
// duration, any, struct, wrappers, empty, field_mask), from protobufjs' bundled definitions,
// since Confluent's serializers do not register those (`skip.known.types`). A registered one wins
// over the bundled one. Each file is `.proto` text or a base64 FileDescriptorProto (what
// Confluent's ProtobufSerializer registers, for the imported files too); the two mix freely.
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';
import { TributaryError } from '../../errors.ts';

/** `.proto` text always has a `;` (at least `syntax = …;` or a field); base64 never does. */
export function isDescriptor(text: string): boolean {
  return !text.includes(';') && /^[A-Za-z0-9+/=\s]+$/.test(text);
}

/** One file as declared: its package, its top-level messages in declaration order, what it imports. */
interface Declared {
  readonly package: string | undefined;
  readonly messages: readonly string[];
  readonly imports: readonly string[];
  /** Set when the file is a descriptor (added to the root through Root.fromDescriptor). */
  readonly descriptor?: descriptor.IFileDescriptorProto;
  readonly text: string;
}

function declare(text: string): Declared {
  if (isDescriptor(text)) {
    const fd = descriptor.FileDescriptorProto.decode(Buffer.from(text, 'base64')) as descriptor.IFileDescriptorProto;
    return {
      package: fd.package || undefined,
      messages: (fd.messageType ?? []).map((m) => m.name ?? ''),
      imports: fd.dependency ?? [],
      descriptor: fd,
      text,
    };
  }
  // Parsed alone, into a root of its own: parsing does not resolve, so unknown imported types are fine here.
  const parsed = protobuf.parse(text, new protobuf.Root(), { keepCase: true });
  const ns = parsed.package ? parsed.root.lookup(parsed.package) : parsed.root;
  const messages =
    ns instanceof protobuf.Namespace ? ns.nestedArray.filter((n) => n instanceof protobuf.Type).map((t) => t.name) : [];
  return {
    package: parsed.package ?? undefined,
    messages,
    imports: [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])],
    text,
  };
}

/** The well-known file's bundled definition, or null when protobufjs does not ship it. */
function wellKnown(importPath: string): protobuf.INamespace | null {
  const json = importPath.startsWith('google/protobuf/') ? protobuf.common.get(importPath) : null;
  return json === null ? null : (protoNames(json) as protobuf.INamespace);
}

const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * A copy of bundled JSON with the .proto's own field names: protobufjs writes struct.proto's Value fields in
 * camelCase (`stringValue`), where every other field keeps its .proto name here (`keepCase`: `string_value`).
 */
function protoNames(json: unknown): unknown {
  if (Array.isArray(json)) return json.map(protoNames);
  if (typeof json !== 'object' || json === null) return json;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    if (k === 'fields' && typeof v === 'object' && v !== null)
      out[k] = Object.fromEntries(Object.entries(v).map(([f, d]) => [snake(f), protoNames(d)]));
    else if (k === 'oneof' && Array.isArray(v)) out[k] = v.map((f) => (typeof f === 'string' ? snake(f) : f));
    else out[k] = protoNames(v);
  }
  return out;
}

/** True when `importPath` resolves without a registry reference (a bundled well-known type). */
export function isWellKnownImport(importPath: string): boolean {
  return wellKnown(importPath) !== null;
}

/**
 * The full name (no leading dot) of the file's top-level message called `name` (its name or full name; default
 * the first), read from the file alone: no import is needed. Undefined when no top-level message is so called.
 */
export function declaredMessage(text: string, name: string | undefined): string | undefined {
  const own = declare(text);
  const full = (m: string) => (own.package ? `${own.package}.${m}` : m);
  const found = own.messages.find((m) => name === undefined || m === name || full(m) === name.replace(/^\./, ''));
  return found === undefined ? undefined : full(found);
}

export interface ParsedFiles {
  /** The schema's own top-level messages, in declaration order, resolved against all the files. */
  readonly messages: readonly protobuf.Type[];
}

/**
 * `text` (called `what` in errors) with the files it imports, transitively: `imports` maps an import path to the
 * file's text. An import neither there nor a bundled well-known type is TRIB_FORMAT_SCHEMA naming the importing
 * file; so is any file that does not parse, or a type that does not resolve.
 */
export function parseWithImports(text: string, what: string, imports: ReadonlyMap<string, string>): ParsedFiles {
  const own = declare(text);
  const files: Declared[] = [own];
  /** Who imports files[i]: `what` for the own file, else the import path (named in errors). */
  const importers = [what];
  const seen = new Set<string>();
  const bundled: string[] = [];
  // Breadth-first from the own file: only the files it reaches are parsed.
  for (let i = 0; i < files.length; i++) {
    const importer = importers[i]!;
    for (const path of files[i]!.imports) {
      if (seen.has(path) || bundled.includes(path)) continue;
      const given = imports.get(path);
      if (given !== undefined) {
        seen.add(path);
        try {
          files.push(declare(given));
          importers.push(`"${path}" (imported by ${what})`);
        } catch (err) {
          throw new TributaryError(
            'TRIB_FORMAT_SCHEMA',
            `"${path}" (imported by ${what}) does not parse: ${msg(err)}`,
            {
              cause: err,
            },
          );
        }
      } else if (isWellKnownImport(path)) bundled.push(path);
      else
        throw new TributaryError(
          'TRIB_FORMAT_SCHEMA',
          `${importer} imports "${path}", which is neither among its references nor a well-known type`,
        );
    }
  }
  const root = new protobuf.Root();
  for (const f of files) {
    if (f.descriptor) addDescriptor(root, f.descriptor);
    else protobuf.parse(f.text, root, { keepCase: true });
  }
  for (const path of bundled) root.addJSON(wellKnown(path)!.nested ?? {});
  root.resolveAll();
  const ns = own.package ? root.lookup(own.package) : root;
  if (!(ns instanceof protobuf.Namespace))
    throw new TributaryError('TRIB_FORMAT_SCHEMA', `${what}: package ${own.package} not found`);
  // Message indexes count the writer's own file only: its messages, not the imported files' of its package.
  const messages = own.messages.map((name) => {
    const t = ns.get(name);
    if (!(t instanceof protobuf.Type))
      throw new TributaryError('TRIB_FORMAT_SCHEMA', `${what}: message ${name} is not a message after its imports`);
    return t;
  });
  return { messages };
}

/**
 * A FileDescriptorProto's types added to `root`, unresolved: Root.fromDescriptor would resolve them at once, before
 * the files they import are in the root. proto2 and proto3 files (Confluent's serializers register these); the
 * file options and editions' features are not carried (they do not change the wire format of proto2/3 fields).
 */
function addDescriptor(root: protobuf.Root, fd: descriptor.IFileDescriptorProto): void {
  const syntax = fd.syntax || 'proto2';
  if (syntax !== 'proto2' && syntax !== 'proto3')
    throw new TributaryError('TRIB_FORMAT_SCHEMA', `descriptor of "${fd.name ?? '?'}" has syntax ${syntax}`);
  const ctx = { edition: syntax, keepCase: true };
  const ns = fd.package ? root.define(fd.package) : root;
  for (const m of fd.messageType ?? []) ns.add(protobuf.Type.fromDescriptor(m, ctx));
  for (const e of fd.enumType ?? []) ns.add(protobuf.Enum.fromDescriptor(e, ctx));
  for (const x of fd.extension ?? []) ns.add(protobuf.Field.fromDescriptor(x, ctx));
  for (const sv of fd.service ?? []) ns.add(protobuf.Service.fromDescriptor(sv, ctx));
}

const msg = (err: unknown): string => (err instanceof Error ? err.message : String(err));
