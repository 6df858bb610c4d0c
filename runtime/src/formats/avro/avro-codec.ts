// Avro in the Confluent wire format. Decoding reads with the writer's schema (by the message's
// id) resolved into the reader schema (inline, a pinned version or the subject's latest), so a
// field the writer lacks takes its default and a field the reader lacks is skipped; without a
// reader schema a message decodes as written. Encoding writes with the codec's schema under the
// id the registry gives it (registered, or looked up when autoRegister is off).
import type avro from 'avsc';
import type { Type } from 'avsc';
import type { Rec } from '../../core/record.ts';
import { TributaryError } from '../../errors.ts';
import type { RecordCodec, SchemaSource } from '../codec.ts';
import type { RegistrySchema, SchemaRegistryClient } from '../registry/client.ts';
import { resolveReferences } from '../registry/references.ts';
import { BoundedCache } from '../registry/bounded-cache.ts';
import { frame, unframe } from '../registry/wire.ts';
import { parseAvro } from './avro-schema.ts';
import { fromRecordValue, toRecordValue } from './avro-values.ts';

export interface AvroCodecOptions {
  readonly client: SchemaRegistryClient;
  /** The subject this codec's schema lives under (registry/subject.ts names it). */
  readonly subject: string;
  /** Reader schema for decoding and the schema for encoding; absent: decode as written, no encoding. */
  readonly schema?: SchemaSource;
  /** Register the codec's schema on first encode (else only look it up). Default false. */
  readonly autoRegister?: boolean;
}

interface Reader {
  readonly type: Type;
  /** The text and references registered (or looked up) for encoding. */
  readonly schema: RegistrySchema;
  readonly what: string;
}

export class AvroCodec implements RecordCodec {
  private reader: Promise<Reader | undefined> | undefined;
  /** The reader schema once readerSchema() resolved (null: none given). */
  private readerValue: Reader | null | undefined;
  private readonly readers = new BoundedCache<number, (bytes: Buffer) => unknown>(1000);
  private writerId: Promise<number> | undefined;
  private writerIdValue: number | undefined;

  private readonly o: AvroCodecOptions;

  constructor(o: AvroCodecOptions) {
    this.o = o;
  }

  async decode(bytes: Uint8Array): Promise<Rec> {
    for (;;) {
      const rec = this.decodeReady(bytes);
      if (rec !== undefined) return rec;
      await this.prepareDecode(unframe(bytes).schemaId);
    }
  }

  decodeReady(bytes: Uint8Array): Rec | undefined {
    const { schemaId, payload } = unframe(bytes);
    const read = this.readers.get(schemaId);
    if (read === undefined) return undefined;
    let value: unknown;
    try {
      value = read(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
    } catch (err) {
      throw new TributaryError(
        'TRIB_FORMAT_DECODE',
        `Avro payload of schema id ${schemaId} (subject "${this.o.subject}") does not decode: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return value as Rec;
  }

  async prepareDecode(id: number): Promise<void> {
    if (this.readers.get(id) === undefined) await this.readerFor(id);
  }

  async openSchema(): Promise<void> {
    await this.readerSchema();
  }

  async encode(rec: Rec): Promise<Buffer> {
    await this.openWriter();
    return this.encodeReady(rec);
  }

  async openWriter(): Promise<void> {
    const reader = await this.readerSchema();
    if (!reader) {
      throw new TributaryError(
        'TRIB_REGISTRY_CONFIG',
        `Avro codec of subject "${this.o.subject}" has no schema to encode with`,
      );
    }
    this.writerId ??= this.o.client
      .idFor(
        this.o.subject,
        {
          schemaType: 'AVRO',
          schema: reader.schema.schema,
          ...(reader.schema.references ? { references: reader.schema.references } : {}),
        },
        { autoRegister: this.o.autoRegister ?? false },
      )
      .catch((err: unknown) => {
        this.writerId = undefined;
        throw err;
      });
    this.writerIdValue = await this.writerId;
  }

  encodeReady(rec: Rec): Buffer {
    const reader = this.readerValue;
    const id = this.writerIdValue;
    if (!reader || id === undefined) {
      throw new TributaryError(
        'TRIB_REGISTRY_CONFIG',
        `Avro codec of subject "${this.o.subject}" is not open to encode`,
      );
    }
    const value = fromRecordValue(reader.type, rec);
    const problems: string[] = [];
    if (
      !reader.type.isValid(value, {
        errorHook: (path, v) => problems.push(`${path.join('.') || '(record)'}=${JSON.stringify(v)}`),
      })
    ) {
      throw new TributaryError(
        'TRIB_FORMAT_ENCODE',
        `record does not match the Avro schema ${reader.what} of subject "${this.o.subject}": invalid ${problems.slice(0, 5).join(', ')}`,
        { record: rec },
      );
    }
    return frame(id, reader.type.toBuffer(value));
  }

  private readerSchema(): Promise<Reader | undefined> {
    const src = this.o.schema;
    this.reader ??= (async (): Promise<Reader | undefined> => {
      if (!src) return undefined;
      if ('inline' in src) {
        const inline: RegistrySchema = {
          schemaType: 'AVRO',
          schema: src.inline,
          ...(src.references?.length ? { references: src.references } : {}),
        };
        const refs = await resolveReferences(this.o.client, inline, 'the inline schema');
        return { type: parseAvro(src.inline, 'the inline schema', refs), schema: inline, what: 'inline' };
      }
      const sv = await this.o.client.version(this.o.subject, src.version);
      if (sv.schemaType !== 'AVRO') {
        throw new TributaryError(
          'TRIB_FORMAT_SCHEMA',
          `subject "${this.o.subject}" version ${sv.version} is ${sv.schemaType}, not AVRO`,
        );
      }
      const what = `version ${sv.version} (id ${sv.id})`;
      const named = `subject "${this.o.subject}" ${what}`;
      return { type: parseAvro(sv.schema, named, await resolveReferences(this.o.client, sv, named)), schema: sv, what };
    })().then(
      (r) => {
        this.readerValue = r ?? null;
        return r;
      },
      (err: unknown) => {
        this.reader = undefined;
        throw err;
      },
    );
    return this.reader;
  }

  private async readerFor(id: number): Promise<(bytes: Buffer) => unknown> {
    const written = await this.o.client.schemaById(id);
    if (written.schemaType !== 'AVRO') {
      throw new TributaryError(
        'TRIB_FORMAT_DECODE',
        `schema id ${id} is ${written.schemaType}, not AVRO (subject "${this.o.subject}")`,
      );
    }
    const what = `schema id ${id}`;
    const writer = parseAvro(written.schema, what, await resolveReferences(this.o.client, written, what));
    const reader = await this.readerSchema();
    let read: (bytes: Buffer) => unknown;
    if (!reader || reader.type.equals(writer)) {
      read = (b) => toRecordValue(writer, writer.fromBuffer(b));
    } else {
      let resolver: avro.Resolver;
      try {
        resolver = reader.type.createResolver(writer);
      } catch (err) {
        throw new TributaryError(
          'TRIB_FORMAT_SCHEMA',
          `writer schema id ${id} cannot be read as the reader schema ${reader.what} of subject "${this.o.subject}": ${(err as Error).message}`,
          { cause: err },
        );
      }
      read = (b) => toRecordValue(reader.type, reader.type.fromBuffer(b, resolver));
    }
    this.readers.set(id, read);
    return read;
  }
}
