// How a Kafka source slot turns a queued message into a record, for every format. json, string
// and bytes decode at once (record-format.ts). The registry formats decode synchronously too, once
// the message's schema id is ready in the codec; a message whose id is not is answered `wait`:
// the id is fetched (and resolved into the reader schema) in the background, the partition's
// drain stops at that message, and the slot is woken when the fetch settles (registry-reads.ts).
// So records leave each partition in offset order and none is passed over while its schema is on
// its way. With `keyFormat` the key is read the same way through its own codec, and a message
// leaves only once both its key's and its value's ids are ready; its record is the value's fields
// and the decoded key in `keyField` (null for a message without a key).
//
// What a fetch ends in decides the message's fate: an id the registry does not know
// (TRIB_REGISTRY_NOT_FOUND), a schema of another type or one that does not resolve into the
// reader's (TRIB_FORMAT_DECODE, TRIB_FORMAT_SCHEMA) makes every message of that id a bad record
// (counted, skipped or dead-lettered; a key's reasons start with `key_`). Anything else (the
// registry unreachable after the client's retries, refused credentials, a malformed answer)
// fails the source with the error, which names the registry: never a silent skip.
import type { Registry } from 'prom-client';
import { isTributaryError, TributaryError } from '../../errors.ts';
import type { KafkaSourceSpec } from '../../graph/spec.ts';
import type { Rec } from '../../core/record.ts';
import { decodeValue, type DecodeResult } from '../record-format.ts';
import type { Queued } from './partition-queues.ts';
import { registryCodec, type RegistryCodec } from './registry-codecs.ts';
import { DEFAULT_KEY_FIELD } from './registry-key-rules.ts';
import { RegistryReads } from './registry-reads.ts';

/** What a Kafka source is built with beyond its spec (connectors/registry.ts). */
export interface SourceOptions {
  /** Records keep their bytes (graph/pass-through.ts). */
  readonly keepBytes?: boolean;
  /** Records carry their origin (core/origin.ts). */
  readonly origins?: boolean;
  /** The job's metrics registry: the schema registry client counts its calls there. */
  readonly metrics?: Registry | undefined;
}

export class ValueDecoder {
  private readonly spec: KafkaSourceSpec;
  private readonly keepBytes: boolean;
  private readonly registry: RegistryCodec | undefined;
  private readonly values: RegistryReads | undefined;
  /** With `keyFormat`: the key's reads, and the field the key goes to. */
  private readonly keys: RegistryReads | undefined;
  private readonly keyField: string;
  private readonly what: string;
  private fatal: TributaryError | undefined;

  /** `what` names the source in errors; `wake` wakes the slot when a schema id's fetch settled. */
  constructor(spec: KafkaSourceSpec, o: SourceOptions, what: string, wake: () => void) {
    this.spec = spec;
    this.keepBytes = o.keepBytes === true;
    this.what = what;
    this.keyField = spec.keyField ?? DEFAULT_KEY_FIELD;
    this.registry = registryCodec(spec, what, 'source', o.metrics);
    const fatal = (e: unknown) => (this.fatal ??= this.named(e));
    const reg = this.registry;
    this.values = reg && new RegistryReads(reg.codec, 'value', wake, fatal);
    this.keys = reg?.key && new RegistryReads(reg.key.codec, 'key', wake, fatal);
  }

  /** Fetches the reader schemas (versions of the subjects): a missing one fails the source's open. */
  async open(): Promise<void> {
    try {
      await Promise.all([this.registry?.codec.openSchema(), this.registry?.key?.codec.openSchema()]);
    } catch (e) {
      throw this.named(e);
    }
  }

  /**
   * `m`'s record, why it is bad, or `wait` (its key's or value's schema is being fetched: take it again once woken).
   * Throws what failed the source (a fetch that cannot be put on one message), which the message that waited for
   * it sees.
   */
  decode(m: Queued): DecodeResult | 'wait' {
    if (this.fatal !== undefined) throw this.fatal;
    const values = this.values;
    if (values === undefined) {
      const format = (this.spec.format ?? 'json') as 'json' | 'string' | 'bytes';
      const r = decodeValue(format, m.value, this.keepBytes);
      if (r.ok && format !== 'json') r.rec['key'] = m.key === null ? null : m.key.toString();
      return r;
    }
    if (m.value === null) return { ok: false, reason: 'null_value', error: 'record has no value' };
    // Both reads first, so a key's and a value's unknown ids are fetched together.
    const value = values.read(m.value);
    const key = this.keys === undefined || m.key === null ? undefined : this.keys.read(m.key);
    if (value !== 'wait' && !value.ok) return value;
    if (key !== undefined && key !== 'wait' && !key.ok) return key;
    if (value === 'wait' || key === 'wait') return 'wait';
    const rec = value.value as Rec;
    if (this.keys === undefined) return { ok: true, rec };
    if (this.keyField in rec)
      return {
        ok: false,
        reason: 'key_field_conflict',
        error: `the value has a field ${JSON.stringify(this.keyField)}, which keyField names for the key`,
      };
    rec[this.keyField] = key === undefined ? null : key.value;
    return { ok: true, rec };
  }

  private named(e: unknown): TributaryError {
    const code = isTributaryError(e) ? e.code : 'TRIB_CONNECTOR_FAILED';
    return new TributaryError(code, `${this.what}: ${(e as Error).message}`, { cause: e });
  }

  async close(): Promise<void> {
    await this.registry?.client.close();
  }
}
