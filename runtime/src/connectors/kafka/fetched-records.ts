// The records of one fetch of one partition, as the Kafka source takes them: by index, so a
// record below the next expected offset (a re-delivery before a seek took effect) is passed
// over without building its key and value. Two shapes: kafkajs's own messages (the consumer
// on the slot's thread), and a packed batch that crosses from a fetch thread in three
// transferred buffers (offsets, byte positions and null flags, then every key and value back
// to back), so handing a fetch over costs one message and no per-record clone. A source with a
// dead-letter topic also keeps each record's headers (original-headers.ts): kafkajs's object as
// is, or packed in two more buffers; any other source never touches them.
import { packedHeadersSize, packHeaders, type KafkajsHeaders, type KeptHeaders } from './original-headers.ts';

/** Records of one fetch, in offset order. */
export interface FetchedRecords {
  readonly length: number;
  offset(i: number): bigint;
  key(i: number): Buffer | null;
  value(i: number): Buffer | null;
  /** Record i's headers, as kept for a dead letter (original-headers.ts); undefined when not packed. */
  headers(i: number): KeptHeaders | undefined;
}

export const NO_RECORDS: FetchedRecords = {
  length: 0,
  offset: () => 0n,
  key: () => null,
  value: () => null,
  headers: () => undefined,
};

interface KafkajsMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: KafkajsHeaders;
}

export function kafkajsRecords(messages: readonly KafkajsMessage[]): FetchedRecords {
  return {
    length: messages.length,
    offset: (i) => BigInt((messages[i] as KafkajsMessage).offset),
    key: (i) => (messages[i] as KafkajsMessage).key ?? null,
    value: (i) => (messages[i] as KafkajsMessage).value ?? null,
    headers: (i) => (messages[i] as KafkajsMessage).headers,
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
  /** Only when the source keeps headers (a dead-letter topic): record i's packed headers are [at[i], at[i+1]). */
  headers: { at: Uint32Array; bytes: ArrayBuffer } | null;
}

const NULL_KEY = 1;
const NULL_VALUE = 2;

/** `keepHeaders`: also each record's headers (only a source with a dead-letter topic pays for them). */
export function packRecords(records: FetchedRecords, keepHeaders = false): PackedRecords {
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
  return { offsets, at, nulls, bytes, headers: keepHeaders ? packAllHeaders(records) : null };
}

function packAllHeaders(records: FetchedRecords): { at: Uint32Array; bytes: ArrayBuffer } {
  const n = records.length;
  const at = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) at[i + 1] = (at[i] as number) + packedHeadersSize(records.headers(i));
  const bytes = new ArrayBuffer(at[n] as number);
  const into = Buffer.from(bytes);
  for (let i = 0; i < n; i++) packHeaders(records.headers(i), into, at[i] as number);
  return { at, bytes };
}

/** The buffers a packed batch moves (the sender loses them). */
export function packedTransferList(p: PackedRecords): ArrayBuffer[] {
  const moved = [p.offsets.buffer, p.at.buffer, p.nulls.buffer, p.bytes] as ArrayBuffer[];
  if (p.headers) moved.push(p.headers.at.buffer as ArrayBuffer, p.headers.bytes);
  return moved;
}

/** Reads a packed batch in place: each key and value is a view of the moved bytes. */
export function packedRecords(p: PackedRecords): FetchedRecords {
  const { offsets, at, nulls, bytes, headers } = p;
  const slice = (from: number): Buffer =>
    Buffer.from(bytes, at[from] as number, (at[from + 1] as number) - (at[from] as number));
  return {
    length: offsets.length,
    offset: (i) => offsets[i] as bigint,
    key: (i) => (((nulls[i] as number) & NULL_KEY) !== 0 ? null : slice(2 * i)),
    value: (i) => (((nulls[i] as number) & NULL_VALUE) !== 0 ? null : slice(2 * i + 1)),
    headers: (i) => {
      if (!headers) return undefined;
      const from = headers.at[i] as number;
      const to = headers.at[i + 1] as number;
      return from === to ? undefined : Buffer.from(headers.bytes, from, to - from);
    },
  };
}
