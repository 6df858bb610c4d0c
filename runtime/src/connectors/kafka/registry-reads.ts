// One codec's synchronous reads in a Kafka source slot (the value's, and with `keyFormat` the
// key's: registry-decoding.ts). Bytes whose schema id the codec has ready decode at once; bytes of
// an id that is not are answered `wait`, and the id is fetched (and resolved into the reader
// schema) in the background, once however many messages wait on it, the slot woken when the fetch
// settles. A fetch that fails for the id's messages (an unknown id, a schema of another type, one
// that does not resolve into the reader's) makes each of them a bad read, remembered per id (up
// to 1000 ids); any other failure (the registry down after the client's retries, refused
// credentials) is the source's: handed to `fatal`, never put on a message.
import { isTributaryError, type TributaryError } from '../../errors.ts';
import type { RecordCodec } from '../../formats/codec.ts';
import { BoundedCache } from '../../formats/registry/bounded-cache.ts';
import { unframe } from '../../formats/registry/wire.ts';

/** Failures of a schema id that concern its messages, not the source. */
const PER_MESSAGE = new Set([
  'TRIB_REGISTRY_NOT_FOUND',
  'TRIB_REGISTRY_REFERENCE',
  'TRIB_FORMAT_DECODE',
  'TRIB_FORMAT_SCHEMA',
]);

/** The reason a bad record is counted under (tributary_source_records_failed_total), by error code. */
function reasonOf(code: string): string {
  return code === 'TRIB_REGISTRY_NOT_FOUND' ? 'schema_not_found' : code.replace(/^TRIB_/, '').toLowerCase();
}

/** What bytes decoded into, or why they are a bad record. */
export type Read = { ok: true; value: unknown } | { ok: false; reason: string; error: string };

export class RegistryReads {
  private readonly codec: RecordCodec;
  /** Prefixes the reasons and errors of bad reads (`key_`, `key: `); empty for the value. */
  private readonly part: { reason: string; error: string };
  private readonly wake: () => void;
  private readonly fatal: (e: unknown) => void;
  /** Schema ids being fetched. */
  private readonly pending = new Set<number>();
  /** Schema ids whose fetch failed for their messages: the error each of them gets. */
  private readonly failedIds = new BoundedCache<number, TributaryError>(1000);

  constructor(codec: RecordCodec, part: 'key' | 'value', wake: () => void, fatal: (e: unknown) => void) {
    this.codec = codec;
    this.part = part === 'key' ? { reason: 'key_', error: 'key: ' } : { reason: '', error: '' };
    this.wake = wake;
    this.fatal = fatal;
  }

  /** `bytes` decoded, why they are bad, or `wait` (their schema id is being fetched: read again once woken). */
  read(bytes: Buffer): Read | 'wait' {
    try {
      const value = this.codec.decodeReady(bytes);
      if (value !== undefined) return { ok: true, value };
      return this.unready(unframe(bytes).schemaId);
    } catch (e) {
      if (!isTributaryError(e)) throw e;
      return this.bad(e);
    }
  }

  private bad(e: TributaryError): Read {
    return { ok: false, reason: this.part.reason + reasonOf(e.code), error: this.part.error + e.message };
  }

  private unready(id: number): Read | 'wait' {
    const failed = this.failedIds.get(id);
    if (failed !== undefined) return this.bad(failed);
    if (this.pending.has(id)) return 'wait';
    this.pending.add(id);
    this.codec.prepareDecode(id).then(
      () => this.settled(id),
      (e: unknown) => {
        if (isTributaryError(e) && PER_MESSAGE.has(e.code)) this.failedIds.set(id, e);
        else this.fatal(e);
        this.settled(id);
      },
    );
    return 'wait';
  }

  private settled(id: number): void {
    this.pending.delete(id);
    this.wake();
  }
}
