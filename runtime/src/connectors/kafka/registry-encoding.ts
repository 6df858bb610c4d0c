// How a Kafka sink (at-least-once or exactly-once) writes the registry formats. The writer
// schema's id is resolved at open (registered with autoRegister, else looked up), so an
// incompatible schema (TRIB_REGISTRY_INCOMPATIBLE) or a missing one fails the sink before it
// writes anything, naming the subject. Each record is then encoded synchronously. The encoding is
// offered as the writer's checkRecord: the slot runs it in front of the writer (exec/operator-
// factory.ts sinkInput), so a record the schema does not admit (TRIB_FORMAT_ENCODE) goes to the
// sink's errorOutput or the job's onRecordError and the writer never sees it; the bytes the check
// made are kept for the writer (by record identity, per sink: the same record may go to several).
// With `keyFormat` the `key` expression's value is encoded the same way, with the writer key
// schema resolved at open under `<topic>-key`: a key the schema does not admit fails the check as
// a value does; a null key is written as no key (as Confluent's serializers do).
import type { Rec } from '../../core/record.ts';
import { compileExpr, type CompiledExpr } from '../../expr/cel.ts';
import type { RecordCodec } from '../../formats/codec.ts';
import { isTributaryError, TributaryError } from '../../errors.ts';
import type { KafkaSinkSpec } from '../../graph/spec.ts';
import type { SinkWriterContext } from '../api.ts';
import type { MessageValue } from './record-messages.ts';
import { registryCodec, type RegistryCodec } from './registry-codecs.ts';
import { isRegistryFormat } from './registry-config-rules.ts';

export class RegistryEncoding {
  private readonly spec: KafkaSinkSpec;
  private registry: RegistryCodec | undefined;
  private readonly encoded = new WeakMap<Rec, Buffer>();
  private readonly encodedKeys = new WeakMap<Rec, Buffer | null>();
  /** With `keyFormat`: the `key` expression, whose value the key codec encodes. */
  private readonly keyExpr: CompiledExpr | undefined;
  /** How the sink's messages get their value (record-messages.ts). */
  readonly value: MessageValue;
  /** With `keyFormat`: how they get their key (the encoded key, or null for none). */
  readonly key: ((rec: Rec) => Buffer | null) | undefined;
  /** With a registry format: the writer's checkRecord (encodes, keeping the bytes). */
  readonly check: ((rec: Rec) => void) | undefined;

  constructor(spec: KafkaSinkSpec) {
    this.spec = spec;
    if (!isRegistryFormat(spec.format)) {
      this.value = spec.format === 'string' ? 'string' : 'json';
      this.check = undefined;
      this.key = undefined;
      return;
    }
    this.value = (rec) => {
      const bytes = this.encoded.get(rec);
      if (bytes === undefined) return this.encode(rec);
      this.encoded.delete(rec);
      return bytes;
    };
    if (!isRegistryFormat(spec.keyFormat) || spec.key === undefined) {
      this.check = (rec) => this.encoded.set(rec, this.encode(rec));
      this.key = undefined;
      return;
    }
    this.keyExpr = compileExpr(spec.key);
    this.key = (rec) => {
      const bytes = this.encodedKeys.get(rec);
      if (bytes === undefined) return this.encodeKey(rec);
      this.encodedKeys.delete(rec);
      return bytes;
    };
    this.check = (rec) => {
      const key = this.encodeKey(rec); // first: a value that encodes is not kept for a record whose key does not
      this.encoded.set(rec, this.encode(rec));
      this.encodedKeys.set(rec, key);
    };
  }

  /** Resolves the writer schema and its id; a registry error names the sink and the subject. */
  async open(ctx: SinkWriterContext): Promise<void> {
    const what = `sink "${ctx.sinkName}" (slot ${ctx.slot})`;
    this.registry = registryCodec(this.spec, what, 'sink', ctx.registry);
    if (this.registry === undefined) return;
    const open = async ({ codec, subject }: { codec: RecordCodec; subject: string }, part: string) => {
      try {
        await codec.openWriter();
      } catch (e) {
        const code = isTributaryError(e) ? e.code : 'TRIB_CONNECTOR_FAILED';
        throw new TributaryError(code, `${what}: ${part} of subject "${subject}": ${(e as Error).message}`, {
          cause: e,
        });
      }
    };
    const { key } = this.registry;
    await Promise.all([open(this.registry, 'writer schema'), key && open(key, 'writer key schema')]);
  }

  private encode(rec: Rec): Buffer {
    if (this.registry === undefined)
      throw new TributaryError('TRIB_INVARIANT', `kafka sink of topic ${this.spec.topic}: encoding before open`);
    return this.registry.codec.encodeReady(rec);
  }

  /** The key expression's value in the key's format; null (no key) when it is null. */
  private encodeKey(rec: Rec): Buffer | null {
    const codec = this.registry?.key?.codec;
    if (codec === undefined || this.keyExpr === undefined)
      throw new TributaryError('TRIB_INVARIANT', `kafka sink of topic ${this.spec.topic}: encoding a key before open`);
    const v = this.keyExpr.evaluate(rec);
    return v === null || v === undefined ? null : codec.encodeReady(v as Rec);
  }

  async close(): Promise<void> {
    await this.registry?.client.close();
  }
}
