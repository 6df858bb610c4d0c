// What every registry-aware codec offers a connector: bytes in the Confluent wire format to a
// record, and a record to such bytes (the schema id in front).
import type { Rec } from '../core/record.ts';

export interface RecordCodec {
  /** TRIB_FORMAT_DECODE for bytes that are not framed or do not decode; TRIB_REGISTRY_* from the registry. */
  decode(bytes: Uint8Array): Promise<Rec>;
  /** TRIB_FORMAT_ENCODE for a record the codec's schema does not admit. */
  encode(rec: Rec): Promise<Buffer>;
}

/** The schema a codec reads into and writes with: given inline, or a version of its subject. */
export type SchemaSource = { readonly inline: string } | { readonly version: number | 'latest' };
