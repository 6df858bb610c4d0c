// Protobuf in the Confluent wire format: the header, the message indexes naming the message type
// in the writer's .proto, then the message. Decoding uses the writer's schema by id, or the codec's
// own schema's message of the same full name when it has one: Protobuf evolves by field numbers, so
// a field the writer lacks reads as its default and a field the reader lacks is skipped.
import type protobuf from 'protobufjs';
import type { Rec } from '../../core/record.ts';
import { TributaryError } from '../../errors.ts';
import type { RecordCodec, SchemaSource } from '../codec.ts';
import { BoundedCache } from '../registry/bounded-cache.ts';
import type { SchemaRegistryClient } from '../registry/client.ts';
import { decodeMessageIndexes, encodeMessageIndexes, frame, unframe } from '../registry/wire.ts';
import { indexesOf, messageAt, parseProto, type ProtoFile } from './protobuf-schema.ts';
import { messageToRecord, recordProblems } from './protobuf-values.ts';

export interface ProtobufCodecOptions {
  readonly client: SchemaRegistryClient;
  readonly subject: string;
  /** The codec's .proto: reader for decoding, writer for encoding; absent: decode as written, no encoding. */
  readonly schema?: SchemaSource;
  /** The message to encode (name or full name); default the file's first message. */
  readonly messageName?: string;
  readonly autoRegister?: boolean;
}

interface Own {
  readonly file: ProtoFile;
  readonly text: string;
  readonly what: string;
}

export class ProtobufCodec implements RecordCodec {
  private readonly o: ProtobufCodecOptions;
  private own: Promise<Own | undefined> | undefined;
  private readonly writers = new BoundedCache<number, ProtoFile>(1000);
  private writerId: Promise<number> | undefined;

  constructor(o: ProtobufCodecOptions) {
    this.o = o;
  }

  async decode(bytes: Uint8Array): Promise<Rec> {
    const { schemaId, payload } = unframe(bytes);
    const { indexes, rest } = decodeMessageIndexes(payload);
    const what = `schema id ${schemaId} (subject "${this.o.subject}")`;
    const written = messageAt(await this.writerFile(schemaId), indexes, what);
    const own = await this.ownSchema();
    const type = own ? this.sameMessage(own, written) : written;
    try {
      return messageToRecord(type, type.decode(rest));
    } catch (err) {
      if (err instanceof TributaryError) throw err;
      throw new TributaryError(
        'TRIB_FORMAT_DECODE',
        `Protobuf payload of ${what} does not decode as ${type.fullName}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  async encode(rec: Rec): Promise<Buffer> {
    const own = await this.ownSchema();
    if (!own)
      throw new TributaryError(
        'TRIB_REGISTRY_CONFIG',
        `Protobuf codec of subject "${this.o.subject}" has no schema to encode with`,
      );
    const { indexes, type } = indexesOf(
      own.file,
      this.o.messageName,
      `the ${own.what} schema of subject "${this.o.subject}"`,
    );
    const problems = recordProblems(type, rec);
    if (problems.length) {
      throw new TributaryError(
        'TRIB_FORMAT_ENCODE',
        `record does not match ${type.fullName} of subject "${this.o.subject}": ${problems.slice(0, 5).join(', ')}`,
        {
          record: rec,
        },
      );
    }
    this.writerId ??= this.o.client
      .idFor(
        this.o.subject,
        { schemaType: 'PROTOBUF', schema: own.text },
        { autoRegister: this.o.autoRegister ?? false },
      )
      .catch((err: unknown) => {
        this.writerId = undefined;
        throw err;
      });
    const body = type.encode(type.fromObject(rec)).finish();
    return frame(await this.writerId, Buffer.concat([encodeMessageIndexes(indexes), body]));
  }

  private sameMessage(own: Own, written: protobuf.Type): protobuf.Type {
    const found = indexesOf(own.file, written.fullName.replace(/^\./, ''), `the ${own.what} schema`);
    return found.type;
  }

  private async writerFile(id: number): Promise<ProtoFile> {
    const hit = this.writers.get(id);
    if (hit) return hit;
    const written = await this.o.client.schemaById(id);
    if (written.schemaType !== 'PROTOBUF') {
      throw new TributaryError(
        'TRIB_FORMAT_DECODE',
        `schema id ${id} is ${written.schemaType}, not PROTOBUF (subject "${this.o.subject}")`,
      );
    }
    const file = parseProto(written.schema, `schema id ${id}`);
    this.writers.set(id, file);
    return file;
  }

  private ownSchema(): Promise<Own | undefined> {
    const src = this.o.schema;
    this.own ??= (async (): Promise<Own | undefined> => {
      if (!src) return undefined;
      if ('inline' in src)
        return { file: parseProto(src.inline, 'the inline schema'), text: src.inline, what: 'inline' };
      const sv = await this.o.client.version(this.o.subject, src.version);
      if (sv.schemaType !== 'PROTOBUF') {
        throw new TributaryError(
          'TRIB_FORMAT_SCHEMA',
          `subject "${this.o.subject}" version ${sv.version} is ${sv.schemaType}, not PROTOBUF`,
        );
      }
      const what = `version ${sv.version} (id ${sv.id})`;
      return { file: parseProto(sv.schema, `subject "${this.o.subject}" ${what}`), text: sv.schema, what };
    })().catch((err: unknown) => {
      this.own = undefined;
      throw err;
    });
    return this.own;
  }
}
