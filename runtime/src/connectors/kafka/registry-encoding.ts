// How a Kafka sink (at-least-once or exactly-once) writes the registry formats. The writer
// schema's id is resolved at open (registered with autoRegister, else looked up), so an
// incompatible schema (TRIB_REGISTRY_INCOMPATIBLE) or a missing one fails the sink before it
// writes anything, naming the subject. Each record is then encoded synchronously. The encoding is
// offered as the writer's checkRecord: the slot runs it in front of the writer (exec/operator-
// factory.ts sinkInput), so a record the schema does not admit (TRIB_FORMAT_ENCODE) goes to the
// sink's errorOutput or the job's onRecordError and the writer never sees it; the bytes the check
// made are kept for the writer (by record identity, per sink: the same record may go to several).
import type { Rec } from '../../core/record.ts';
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
  /** How the sink's messages get their value (record-messages.ts). */
  readonly value: MessageValue;
  /** With a registry format: the writer's checkRecord (encodes, keeping the bytes). */
  readonly check: ((rec: Rec) => void) | undefined;

  constructor(spec: KafkaSinkSpec) {
    this.spec = spec;
    if (!isRegistryFormat(spec.format)) {
      this.value = spec.format === 'string' ? 'string' : 'json';
      this.check = undefined;
      return;
    }
    this.value = (rec) => {
      const bytes = this.encoded.get(rec);
      if (bytes === undefined) return this.encode(rec);
      this.encoded.delete(rec);
      return bytes;
    };
    this.check = (rec) => this.encoded.set(rec, this.encode(rec));
  }

  /** Resolves the writer schema and its id; a registry error names the sink and the subject. */
  async open(ctx: SinkWriterContext): Promise<void> {
    const what = `sink "${ctx.sinkName}" (slot ${ctx.slot})`;
    this.registry = registryCodec(this.spec, what, 'sink', ctx.registry);
    if (this.registry === undefined) return;
    try {
      await this.registry.codec.openWriter();
    } catch (e) {
      const code = isTributaryError(e) ? e.code : 'TRIB_CONNECTOR_FAILED';
      throw new TributaryError(
        code,
        `${what}: writer schema of subject "${this.registry.subject}": ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  private encode(rec: Rec): Buffer {
    if (this.registry === undefined)
      throw new TributaryError('TRIB_INVARIANT', `kafka sink of topic ${this.spec.topic}: encoding before open`);
    return this.registry.codec.encodeReady(rec);
  }

  async close(): Promise<void> {
    await this.registry?.client.close();
  }
}
