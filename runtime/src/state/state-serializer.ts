// How a keyed state's values are stored: their JSON form, and optional binary fast paths.
import type { BinaryReader } from './binary-reader.ts';
import type { BinaryWriter } from './binary-writer.ts';

/**
 * Converts a state value to and from its JSON form (state-format.md, "State values").
 * Snapshots store the JSON form in TVE (version 2) or as JSON text (version 1, read only).
 * `write`/`read` are optional fast paths: `write` must produce exactly the TVE of
 * `toJSON(v)`, and `read` must accept any TVE of a valid JSON form.
 */
export interface StateSerializer<V> {
  toJSON(v: V): unknown;
  fromJSON(j: unknown): V;
  write?(w: BinaryWriter, v: V): void;
  read?(r: BinaryReader): V;
}
