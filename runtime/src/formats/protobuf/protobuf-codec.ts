// Protobuf in the Confluent wire format: the header, the message indexes naming the message type
// in the writer's .proto, then the message. Decoding uses the writer's schema by id, or the codec's
// own schema's message of the same full name when it has one: Protobuf evolves by field numbers, so
// a field the writer lacks reads as its default and a field the reader lacks is skipped.
import type protobuf from 'protobufjs';
import type { Rec } from '../../core/record.ts';
import { TributaryError } from '../../errors.ts';
import type { RecordCodec, SchemaSource } from '../codec.ts';
import { BoundedCache } from '../registry/bounded-cache.ts';
import type { RegistrySchema, SchemaRegistryClient } from '../registry/client.ts';
import { importsOf, resolveReferences } from '../registry/references.ts';
import { decodeMessageIndexes, encodeMessageIndexes, frame, unframe } from '../registry/wire.ts';
import { indexesOf, messageAt, parseProto, type ProtoFile } from './protobuf-schema.ts';
import { messageObject, messageToRecord, recordProblems } from './protobuf-values.ts';

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
  /** The text and references registered (or looked up) for encoding. */
  readonly schema: RegistrySchema;
  readonly what: string;
}

export class ProtobufCodec implements RecordCodec {
  private readonly o: ProtobufCodecOptions;
  private own: Promise<Own | undefined> | undefined;
  /** The own schema once ownSchema() resolved (null: none given). */
  private ownValue: Own | null | undefined;
  private readonly writers = new BoundedCache<number, ProtoFile>(1000);
  private writerId: Promise<number> | undefined;
  private writerIdValue: number | undefined;
  /** The message encodeReady writes, and its indexes (openWriter). */
  private written: { indexes: number[]; type: protobuf.Type } | undefined;

  constructor(o: ProtobufCodecOptions) {
    this.o = o;
  }

  async decode(bytes: Uint8Array): Promise<Rec> {
    for (;;) {
      const rec = this.decodeReady(bytes);
      if (rec !== undefined) return rec;
      await this.prepareDecode(unframe(bytes).schemaId);
    }
  }

  async prepareDecode(id: number): Promise<void> {
    await this.ownSchema();
    await this.writerFile(id);
  }

  async openSchema(): Promise<void> {
    await this.ownSchema();
  }

  decodeReady(bytes: Uint8Array): Rec | undefined {
    const { schemaId, payload } = unframe(bytes);
    const file = this.writers.get(schemaId);
    const own = this.ownValue;
    if (file === undefined || own === undefined) return undefined;
    const { indexes, rest } = decodeMessageIndexes(payload);
    const what = `schema id ${schemaId} (subject "${this.o.subject}")`;
    const written = messageAt(file, indexes, what);
    const type = own ? this.sameMessage(own, written) : written;
    try {
      return messageToRecord(type, type.decode(rest));
    } catch (err) {
      if (err instanceof TributaryError) throw err;
      throw new TributaryError(
        'TRIB_FORMAT_DECODE',
        `Protobuf payload of ${what} does not decode as ${type.fullName}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async encode(rec: Rec): Promise<Buffer> {
    await this.openWriter();
    return this.encodeReady(rec);
  }

  async openWriter(): Promise<void> {
    const own = await this.ownSchema();
    if (!own)
      throw new TributaryError(
        'TRIB_REGISTRY_CONFIG',
        `Protobuf codec of subject "${this.o.subject}" has no schema to encode with`,
      );
    const written = this.writtenType(own); // an unknown messageName fails here, before anything is registered
    this.writerId ??= this.o.client
      .idFor(
        this.o.subject,
        {
          schemaType: 'PROTOBUF',
          schema: own.schema.schema,
          ...(own.schema.references ? { references: own.schema.references } : {}),
        },
        { autoRegister: this.o.autoRegister ?? false },
      )
      .catch((err: unknown) => {
        this.writerId = undefined;
        throw err;
      });
    this.writerIdValue = await this.writerId;
    this.written = written;
  }

  encodeReady(rec: Rec): Buffer {
    const id = this.writerIdValue;
    const written = this.written;
    if (written === undefined || id === undefined)
      throw new TributaryError(
        'TRIB_REGISTRY_CONFIG',
        `Protobuf codec of subject "${this.o.subject}" is not open to encode`,
      );
    const { indexes, type } = written;
    const problems = recordProblems(type, rec);
    if (problems.length) {
      throw new TributaryError(
        'TRIB_FORMAT_ENCODE',
        `record does not match ${type.fullName} of subject "${this.o.subject}": ${problems.slice(0, 5).join(', ')}`,
        { record: rec },
      );
    }
    const body = type.encode(type.fromObject(messageObject(type, rec))).finish();
    return frame(id, Buffer.concat([encodeMessageIndexes(indexes), body]));
  }

  private writtenType(own: Own): { indexes: number[]; type: protobuf.Type } {
    return indexesOf(own.file, this.o.messageName, `the ${own.what} schema of subject "${this.o.subject}"`);
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
    const what = `schema id ${id}`;
    const file = parseProto(written.schema, what, importsOf(await resolveReferences(this.o.client, written, what)));
    this.writers.set(id, file);
    return file;
  }

  private ownSchema(): Promise<Own | undefined> {
    const src = this.o.schema;
    this.own ??= (async (): Promise<Own | undefined> => {
      if (!src) return undefined;
      if ('inline' in src) {
        const inline: RegistrySchema = {
          schemaType: 'PROTOBUF',
          schema: src.inline,
          ...(src.references?.length ? { references: src.references } : {}),
        };
        const refs = await resolveReferences(this.o.client, inline, 'the inline schema');
        return { file: parseProto(src.inline, 'the inline schema', importsOf(refs)), schema: inline, what: 'inline' };
      }
      const sv = await this.o.client.version(this.o.subject, src.version);
      if (sv.schemaType !== 'PROTOBUF') {
        throw new TributaryError(
          'TRIB_FORMAT_SCHEMA',
          `subject "${this.o.subject}" version ${sv.version} is ${sv.schemaType}, not PROTOBUF`,
        );
      }
      const what = `version ${sv.version} (id ${sv.id})`;
      const named = `subject "${this.o.subject}" ${what}`;
      const refs = await resolveReferences(this.o.client, sv, named);
      return { file: parseProto(sv.schema, named, importsOf(refs)), schema: sv, what };
    })().then(
      (r) => {
        this.ownValue = r ?? null;
        return r;
      },
      (err: unknown) => {
        this.own = undefined;
        throw err;
      },
    );
    return this.own;
  }
}
