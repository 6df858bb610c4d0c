// A registry's Protobuf schema (.proto text) and the Confluent message indexes: the path of a
// message type through the file's top-level messages, then their nested messages, each index
// counting message declarations only (not enums or services), in declaration order.
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';
import { TributaryError } from '../../errors.ts';

/** `.proto` text always has a `;` (at least `syntax = …;` or a field); base64 never does. */
function isDescriptor(text: string): boolean {
  return !text.includes(';') && /^[A-Za-z0-9+/=\s]+$/.test(text);
}

/** A base64 FileDescriptorProto as a parsed file: its package and its types in a root. */
function fromDescriptor(text: string): { root: protobuf.Root; package: string | undefined } {
  const file = descriptor.FileDescriptorProto.decode(Buffer.from(text, 'base64')) as descriptor.IFileDescriptorProto;
  const root = protobuf.Root.fromDescriptor({ file: [file] }, { keepCase: true });
  return { root, package: file.package || undefined };
}

export interface ProtoFile {
  /** The file's top-level messages in declaration order. */
  readonly messages: readonly protobuf.Type[];
}

/**
 * A schema as a registry may hold it: `.proto` text, or (what Confluent's own serializers
 * register, and Apicurio keeps as given) a base64 serialized FileDescriptorProto.
 */
export function parseProto(text: string, what: string): ProtoFile {
  try {
    const parsed = isDescriptor(text) ? fromDescriptor(text) : protobuf.parse(text, { keepCase: true });
    const root = parsed.root;
    const ns = parsed.package ? root.lookup(parsed.package) : root;
    if (!(ns instanceof protobuf.Namespace))
      throw new TributaryError('TRIB_FORMAT_SCHEMA', `${what}: package ${parsed.package} not found`);
    root.resolveAll();
    return { messages: ns.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type) };
  } catch (err) {
    throw new TributaryError(
      'TRIB_FORMAT_SCHEMA',
      `${what} is not a usable Protobuf schema: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

const nestedMessages = (t: protobuf.Type): protobuf.Type[] =>
  t.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type);

export function messageAt(file: ProtoFile, indexes: readonly number[], what: string): protobuf.Type {
  let level: readonly protobuf.Type[] = file.messages;
  let type: protobuf.Type | undefined;
  for (const i of indexes) {
    type = level[i];
    if (!type)
      throw new TributaryError(
        'TRIB_FORMAT_DECODE',
        `message indexes [${indexes.join(',')}] name no message of ${what}`,
      );
    level = nestedMessages(type);
  }
  if (!type) throw new TributaryError('TRIB_FORMAT_DECODE', `empty message indexes for ${what}`);
  return type;
}

/** The indexes of the message called `name` (its name or full name; default: the first message). */
export function indexesOf(
  file: ProtoFile,
  name: string | undefined,
  what: string,
): { indexes: number[]; type: protobuf.Type } {
  const walk = (
    level: readonly protobuf.Type[],
    path: number[],
  ): { indexes: number[]; type: protobuf.Type } | undefined => {
    for (const [i, t] of level.entries()) {
      if (name === undefined || t.name === name || t.fullName === name || t.fullName === `.${name}`)
        return { indexes: [...path, i], type: t };
      const inner = walk(nestedMessages(t), [...path, i]);
      if (inner) return inner;
    }
    return undefined;
  };
  const found = walk(file.messages, []);
  if (!found) throw new TributaryError('TRIB_FORMAT_SCHEMA', `${what} has no message ${name ?? '(none at all)'}`);
  return found;
}
