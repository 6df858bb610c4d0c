// What every registry-aware codec offers a connector: bytes in the Confluent wire format to a
// record, and a record to such bytes (the schema id in front). The async calls fetch what they
// need; a connector that must not wait per record (a source's poll, a sink's write) readies the
// codec first (openSchema, prepareDecode, openWriter) and then calls the synchronous ones, which
// only use what is cached.
import type { Rec } from '../core/record.ts';
import type { SchemaReference } from './registry/client.ts';

export interface RecordCodec {
  /** TRIB_FORMAT_DECODE for bytes that are not framed or do not decode; TRIB_REGISTRY_* from the registry. */
  decode(bytes: Uint8Array): Promise<Rec>;
  /** TRIB_FORMAT_ENCODE for a record the codec's schema does not admit. */
  encode(rec: Rec): Promise<Buffer>;
  /** Fetches and parses the codec's own schema (reader or writer): a missing version or bad schema fails here. */
  openSchema(): Promise<void>;
  /** Readies decoding messages written with schema `id` (fetched, parsed, resolved into the reader schema). */
  prepareDecode(id: number): Promise<void>;
  /**
   * Decodes a message whose schema id is ready; undefined when it is not (never prepared, or evicted from the
   * cache): prepareDecode(schemaIdOf(bytes)), then call again. Throws as decode does.
   */
  decodeReady(bytes: Uint8Array): Rec | undefined;
  /** The own schema and its id (registered with autoRegister, else looked up): after it, encodeReady. */
  openWriter(): Promise<void>;
  /** Encodes with the opened writer schema; TRIB_REGISTRY_CONFIG before openWriter resolved. */
  encodeReady(rec: Rec): Buffer;
}

/**
 * The schema a codec reads into and writes with: given inline (with the registered schemas it references, if
 * any: formats-references.md), or a version of its subject (whose references the registry gives).
 */
export type SchemaSource =
  | { readonly inline: string; readonly references?: readonly SchemaReference[] }
  | { readonly version: number | 'latest' };
