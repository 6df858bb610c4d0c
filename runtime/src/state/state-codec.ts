// A keyed state's values as bytes for a store that keeps bytes (disk-store.ts): the TVE its
// snapshots write, through the state's serializer, so a TTL'd state keeps its stamp; plus Dates
// (TAG_DATE), so a value read back after eviction has the types the heap would have kept.
import { BinaryReader } from './binary-reader.ts';
import { BinaryWriter } from './binary-writer.ts';
import type { ValueCodec } from './key-table.ts';
import type { StateSerializer } from './state-serializer.ts';
import { TtlSerializer, valueReader } from './state-ttl.ts';

/** `encode`'s bytes are a view valid until its next call. */
export function stateCodec<V>(s: { readonly name: string; readonly serializer: StateSerializer<V> }): ValueCodec<V> {
  const ser = s.serializer;
  const w = new BinaryWriter(1024);
  w.dates = true;
  const read = valueReader(
    s as { name: string; serializer: StateSerializer<unknown> },
    ser instanceof TtlSerializer,
  ) as (r: BinaryReader) => V;
  return {
    encode(v: V): Uint8Array {
      w.pos = 0;
      if (ser.write) ser.write(w, v);
      else w.value(ser.toJSON(v));
      return w.finish();
    },
    decode(bytes: Uint8Array): V {
      return read(new BinaryReader(bytes));
    },
    get asSnapshot(): boolean {
      return !w.wroteDate;
    },
  };
}
