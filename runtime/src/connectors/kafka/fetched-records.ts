// The records of one fetch of one partition, as the Kafka source takes them: by index, so a
// record below the next expected offset (a re-delivery before a seek took effect) is passed
// over without building its key and value. Two shapes: kafkajs's own messages (the consumer
// on the slot's thread), and a packed batch that crosses from a fetch thread in three
// transferred buffers (offsets, byte positions and null flags, then every key and value back
// to back), so handing a fetch over costs one message and no per-record clone.

/** Records of one fetch, in offset order. */
export interface FetchedRecords {
  readonly length: number;
  offset(i: number): bigint;
  key(i: number): Buffer | null;
  value(i: number): Buffer | null;
}

export const NO_RECORDS: FetchedRecords = {
  length: 0,
  offset: () => 0n,
  key: () => null,
  value: () => null,
};

interface KafkajsMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

export function kafkajsRecords(messages: readonly KafkajsMessage[]): FetchedRecords {
  return {
    length: messages.length,
    offset: (i) => BigInt((messages[i] as KafkajsMessage).offset),
    key: (i) => (messages[i] as KafkajsMessage).key ?? null,
    value: (i) => (messages[i] as KafkajsMessage).value ?? null,
  };
}

/** A fetch's records in transferable form. */
export interface PackedRecords {
  offsets: BigInt64Array;
  /** Byte positions in `bytes`: record i's key is [at[2i], at[2i+1]), its value [at[2i+1], at[2i+2]). */
  at: Uint32Array;
  /** Per record: bit 0 set for a null key, bit 1 for a null value. */
  nulls: Uint8Array;
  bytes: ArrayBuffer;
}

const NULL_KEY = 1;
const NULL_VALUE = 2;

export function packRecords(records: FetchedRecords): PackedRecords {
  const n = records.length;
  const offsets = new BigInt64Array(n);
  const at = new Uint32Array(2 * n + 1);
  const nulls = new Uint8Array(n);
  const parts: (Buffer | null)[] = new Array<Buffer | null>(2 * n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    offsets[i] = records.offset(i);
    const key = (parts[2 * i] = records.key(i));
    const value = (parts[2 * i + 1] = records.value(i));
    at[2 * i] = total;
    if (key) total += key.length;
    else nulls[i] = NULL_KEY;
    at[2 * i + 1] = total;
    if (value) total += value.length;
    else nulls[i] = (nulls[i] as number) | NULL_VALUE;
  }
  at[2 * n] = total;
  const bytes = new ArrayBuffer(total);
  const view = new Uint8Array(bytes);
  for (let j = 0; j < 2 * n; j++) {
    const b = parts[j];
    if (b) view.set(b, at[j] as number);
  }
  return { offsets, at, nulls, bytes };
}

/** The buffers a packed batch moves (the sender loses them). */
export function packedTransferList(p: PackedRecords): ArrayBuffer[] {
  return [p.offsets.buffer, p.at.buffer, p.nulls.buffer, p.bytes] as ArrayBuffer[];
}

/** Reads a packed batch in place: each key and value is a view of the moved bytes. */
export function packedRecords(p: PackedRecords): FetchedRecords {
  const { offsets, at, nulls, bytes } = p;
  const slice = (from: number): Buffer =>
    Buffer.from(bytes, at[from] as number, (at[from + 1] as number) - (at[from] as number));
  return {
    length: offsets.length,
    offset: (i) => offsets[i] as bigint,
    key: (i) => (((nulls[i] as number) & NULL_KEY) !== 0 ? null : slice(2 * i)),
    value: (i) => (((nulls[i] as number) & NULL_VALUE) !== 0 ? null : slice(2 * i + 1)),
  };
}
