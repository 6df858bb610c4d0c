// JSON Schema in the Confluent wire format: the header, then the record as UTF-8 JSON. Encoding
// validates against the codec's schema; decoding against the codec's schema when it has one (the
// reader's contract), else the writer's by id. A payload that is not JSON or not an object, or
// fails validation, is TRIB_FORMAT_DECODE; a record that fails, TRIB_FORMAT_ENCODE. The draft
// follows the schema's `$schema` (2020-12, 2019-09; draft-07 otherwise). A schema's references
// (registry/references.ts) are added to its validator under their names, so a `$ref` to a name
// resolves to the schema registered for it, as Confluent's JSON Schema serdes resolve them.
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Rec } from '../../core/record.ts';
import { TributaryError } from '../../errors.ts';
import type { RecordCodec, SchemaSource } from '../codec.ts';
import { BoundedCache } from '../registry/bounded-cache.ts';
import type { RegistrySchema, SchemaRegistryClient } from '../registry/client.ts';
import { NO_REFERENCES, resolveReferences, type References } from '../registry/references.ts';
import { frame, unframe } from '../registry/wire.ts';
import { jsonText } from '../../core/json-text.ts';
import { integersOf, parseKeepingIntegers } from './json-schema-integers.ts';

export interface JsonSchemaCodecOptions {
  readonly client: SchemaRegistryClient;
  readonly subject: string;
  readonly schema?: SchemaSource;
  readonly autoRegister?: boolean;
}

interface Compiled {
  readonly validate: ValidateFunction;
  /** The schema itself, for its integers (json-schema-integers.ts). */
  readonly parsed: Record<string, unknown>;
  /** The schema as registered (text and references): what the sink registers or looks up. */
  readonly schema: RegistrySchema;
  readonly what: string;
}

function compile(schema: RegistrySchema, what: string, refs: References = NO_REFERENCES): Compiled {
  try {
    const parsed = JSON.parse(schema.schema) as Record<string, unknown>;
    const draft = typeof parsed.$schema === 'string' ? parsed.$schema : '';
    const opts = { allErrors: true, strict: false };
    const ajv = draft.includes('2020-12')
      ? new Ajv2020(opts)
      : draft.includes('2019-09')
        ? new Ajv2019(opts)
        : new Ajv(opts);
    for (const r of refs.ordered) ajv.addSchema(JSON.parse(r.schema) as object, r.name);
    return { validate: ajv.compile(parsed), parsed, schema, what };
  } catch (err) {
    throw new TributaryError('TRIB_FORMAT_SCHEMA', `${what} is not a usable JSON Schema: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

const problems = (v: ValidateFunction): string =>
  (v.errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || '(record)'} ${e.message ?? ''}`)
    .join(', ');

export class JsonSchemaCodec implements RecordCodec {
  private readonly o: JsonSchemaCodecOptions;
  private own: Promise<Compiled | undefined> | undefined;
  /** The own schema once ownSchema() resolved (null: none given). */
  private ownValue: Compiled | null | undefined;
  private readonly writers = new BoundedCache<number, Compiled>(1000);
  private writerId: Promise<number> | undefined;
  private writerIdValue: number | undefined;

  constructor(o: JsonSchemaCodecOptions) {
    this.o = o;
  }

  async decode(bytes: Uint8Array): Promise<Rec> {
    for (;;) {
      const rec = this.decodeReady(bytes);
      if (rec !== undefined) return rec;
      await this.prepareDecode(unframe(bytes).schemaId);
    }
  }

  async openSchema(): Promise<void> {
    await this.ownSchema();
  }

  /** With an own schema the writer's is not needed (the reader's contract is checked), but its id must exist. */
  async prepareDecode(id: number): Promise<void> {
    await this.ownSchema();
    await this.writer(id);
  }

  decodeReady(bytes: Uint8Array): Rec | undefined {
    const { schemaId, payload } = unframe(bytes);
    const written = this.writers.get(schemaId);
    if (written === undefined || this.ownValue === undefined) return undefined;
    const checker = this.ownValue ?? written;
    const what = `schema id ${schemaId} (subject "${this.o.subject}")`;
    let value: unknown;
    let exact: WeakMap<object, Map<string, string>>;
    try {
      ({ value, exact } = parseKeepingIntegers(Buffer.from(payload).toString('utf8')));
    } catch (err) {
      throw new TributaryError('TRIB_FORMAT_DECODE', `JSON payload of ${what} is not JSON: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new TributaryError('TRIB_FORMAT_DECODE', `JSON payload of ${what} is not an object`);
    }
    if (!checker.validate(value)) {
      throw new TributaryError(
        'TRIB_FORMAT_DECODE',
        `JSON payload of ${what} fails the ${checker.what} schema: ${problems(checker.validate)}`,
      );
    }
    return integersOf(checker.parsed, value, exact) as Rec;
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
        `JSON Schema codec of subject "${this.o.subject}" has no schema to encode with`,
      );
    this.writerId ??= this.o.client
      .idFor(this.o.subject, own.schema, { autoRegister: this.o.autoRegister ?? false })
      .catch((err: unknown) => {
        this.writerId = undefined;
        throw err;
      });
    this.writerIdValue = await this.writerId;
  }

  encodeReady(rec: Rec): Buffer {
    const own = this.ownValue;
    const id = this.writerIdValue;
    if (!own || id === undefined)
      throw new TributaryError(
        'TRIB_REGISTRY_CONFIG',
        `JSON Schema codec of subject "${this.o.subject}" is not open to encode`,
      );
    // ajv knows no BigInt: it validates the record's JSON (integers as numbers); the bytes keep every digit.
    const text = jsonText(rec);
    if (!own.validate(JSON.parse(text))) {
      throw new TributaryError(
        'TRIB_FORMAT_ENCODE',
        `record fails the ${own.what} JSON Schema of subject "${this.o.subject}": ${problems(own.validate)}`,
        { record: rec },
      );
    }
    return frame(id, Buffer.from(text, 'utf8'));
  }

  private async writer(id: number): Promise<Compiled> {
    const hit = this.writers.get(id);
    if (hit) return hit;
    const written = await this.o.client.schemaById(id);
    if (written.schemaType !== 'JSON') {
      throw new TributaryError(
        'TRIB_FORMAT_DECODE',
        `schema id ${id} is ${written.schemaType}, not JSON (subject "${this.o.subject}")`,
      );
    }
    const what = `schema id ${id}`;
    const c = compile(written, what, await resolveReferences(this.o.client, written, what));
    this.writers.set(id, c);
    return c;
  }

  private ownSchema(): Promise<Compiled | undefined> {
    const src = this.o.schema;
    this.own ??= (async (): Promise<Compiled | undefined> => {
      if (!src) return undefined;
      if ('inline' in src) {
        const inline: RegistrySchema = {
          schemaType: 'JSON',
          schema: src.inline,
          ...(src.references?.length ? { references: src.references } : {}),
        };
        return compile(inline, 'inline', await resolveReferences(this.o.client, inline, 'the inline schema'));
      }
      const sv = await this.o.client.version(this.o.subject, src.version);
      if (sv.schemaType !== 'JSON') {
        throw new TributaryError(
          'TRIB_FORMAT_SCHEMA',
          `subject "${this.o.subject}" version ${sv.version} is ${sv.schemaType}, not JSON`,
        );
      }
      const what = `subject "${this.o.subject}" version ${sv.version} (id ${sv.id})`;
      return compile(sv, what, await resolveReferences(this.o.client, sv, what));
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
