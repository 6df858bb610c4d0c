// A registry's Protobuf schema (.proto text) and the Confluent message indexes: the path of a
// message type through the file's top-level messages, then their nested messages, each index
// counting message declarations only (not enums or services), in declaration order.
import protobuf from 'protobufjs';
import { TributaryError } from '../../errors.ts';
import { parseWithImports } from './protobuf-files.ts';

export interface ProtoFile {
  /** The file's top-level messages in declaration order (imported files' messages not among them). */
  readonly messages: readonly protobuf.Type[];
}

/**
 * A schema as a registry may hold it: `.proto` text, or (what Confluent's own serializers
 * register, and Apicurio keeps as given) a base64 serialized FileDescriptorProto; with the files
 * it imports (`imports`: import path → file text, from its resolved references) and the
 * well-known types it imports.
 */
export function parseProto(text: string, what: string, imports: ReadonlyMap<string, string> = new Map()): ProtoFile {
  try {
    return parseWithImports(text, what, imports);
  } catch (err) {
    if (err instanceof TributaryError) throw err;
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
