// How a Kafka source slot turns a queued message into a record, for every format. json, string
// and bytes decode at once (record-format.ts). The registry formats decode synchronously too, once
// the message's schema id is ready in the codec; a message whose id is not is answered `wait`:
// the id is fetched (and resolved into the reader schema) in the background, the partition's
// drain stops at that message, and the slot is woken when the fetch settles. So records leave
// each partition in offset order and none is passed over while its schema is on its way.
//
// What a fetch ends in decides the message's fate: an id the registry does not know
// (TRIB_REGISTRY_NOT_FOUND), a schema of another type or one that does not resolve into the
// reader's (TRIB_FORMAT_DECODE, TRIB_FORMAT_SCHEMA) makes every message of that id a bad record
// (counted, skipped or dead-lettered; remembered per id, up to 1000 ids). Anything else (the
// registry unreachable after the client's retries, refused credentials, a malformed answer)
// fails the source with the error, which names the registry: never a silent skip.
import type { Registry } from 'prom-client';
import { isTributaryError, TributaryError } from '../../errors.ts';
import type { KafkaSourceSpec } from '../../graph/spec.ts';
import type { RecordCodec } from '../../formats/codec.ts';
import { BoundedCache } from '../../formats/registry/bounded-cache.ts';
import { unframe } from '../../formats/registry/wire.ts';
import { decodeValue, type DecodeResult } from '../record-format.ts';
import type { Queued } from './partition-queues.ts';
import { registryCodec, type RegistryCodec } from './registry-codecs.ts';

/** Failures of a schema id that concern its messages, not the source. */
const PER_MESSAGE = new Set(['TRIB_REGISTRY_NOT_FOUND', 'TRIB_FORMAT_DECODE', 'TRIB_FORMAT_SCHEMA']);

/** The reason a bad record is counted under (tributary_records_failed_total), by error code. */
function reasonOf(code: string): string {
  return code === 'TRIB_REGISTRY_NOT_FOUND' ? 'schema_not_found' : code.replace(/^TRIB_/, '').toLowerCase();
}

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
  private readonly what: string;
  private readonly wake: () => void;
  /** Schema ids being fetched. */
  private readonly pending = new Set<number>();
  /** Schema ids whose fetch failed for their messages: the error each of them gets. */
  private readonly failedIds = new BoundedCache<number, TributaryError>(1000);
  private fatal: TributaryError | undefined;

  /** `what` names the source in errors; `wake` wakes the slot when a schema id's fetch settled. */
  constructor(spec: KafkaSourceSpec, o: SourceOptions, what: string, wake: () => void) {
    this.spec = spec;
    this.keepBytes = o.keepBytes === true;
    this.what = what;
    this.wake = wake;
    this.registry = registryCodec(spec, what, 'source', o.metrics);
  }

  /** Fetches the reader schema (a version of the subject): a missing one fails the source's open. */
  async open(): Promise<void> {
    try {
      await this.registry?.codec.openSchema();
    } catch (e) {
      throw this.named(e);
    }
  }

  /**
   * `m`'s record, why it is bad, or `wait` (its schema is being fetched: take it again once woken). Throws what
   * failed the source (a fetch that cannot be put on one message), which the message that waited for it sees.
   */
  decode(m: Queued): DecodeResult | 'wait' {
    if (this.fatal !== undefined) throw this.fatal;
    const reg = this.registry;
    if (reg === undefined) {
      const format = (this.spec.format ?? 'json') as 'json' | 'string' | 'bytes';
      const r = decodeValue(format, m.value, this.keepBytes);
      if (r.ok && format !== 'json') r.rec['key'] = m.key === null ? null : m.key.toString();
      return r;
    }
    if (m.value === null) return { ok: false, reason: 'null_value', error: 'record has no value' };
    try {
      const rec = reg.codec.decodeReady(m.value);
      if (rec !== undefined) return { ok: true, rec };
      return this.unready(reg.codec, unframe(m.value).schemaId);
    } catch (e) {
      if (!isTributaryError(e)) throw e;
      return { ok: false, reason: reasonOf(e.code), error: e.message };
    }
  }

  private unready(codec: RecordCodec, id: number): DecodeResult | 'wait' {
    const failed = this.failedIds.get(id);
    if (failed !== undefined) return { ok: false, reason: reasonOf(failed.code), error: failed.message };
    if (this.pending.has(id)) return 'wait';
    this.pending.add(id);
    codec.prepareDecode(id).then(
      () => this.settled(id),
      (e: unknown) => {
        if (isTributaryError(e) && PER_MESSAGE.has(e.code)) this.failedIds.set(id, e);
        else this.fatal ??= this.named(e);
        this.settled(id);
      },
    );
    return 'wait';
  }

  private settled(id: number): void {
    this.pending.delete(id);
    this.wake();
  }

  private named(e: unknown): TributaryError {
    const code = isTributaryError(e) ? e.code : 'TRIB_CONNECTOR_FAILED';
    return new TributaryError(code, `${this.what}: ${(e as Error).message}`, { cause: e });
  }

  async close(): Promise<void> {
    await this.registry?.client.close();
  }
}
