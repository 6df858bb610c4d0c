// A fetch packed on the fetch thread reads back the same on the slot's thread, across a real
// MessagePort with its buffers moved (not copied).
import { once } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  kafkajsRecords,
  NO_RECORDS,
  packedRecords,
  packedTransferList,
  packRecords,
  type FetchedRecords,
  type PackedRecords,
} from './fetched-records.ts';
import { headerList } from './original-headers.ts';

const messages = [
  { offset: '7', key: Buffer.from('k1'), value: Buffer.from('{"a":1}') },
  { offset: '8', key: null, value: Buffer.from('') },
  { offset: '10', key: Buffer.from(''), value: null },
  { offset: '9007199254740993', key: null, value: null },
  { offset: '11', key: Buffer.from('ключ'), value: Buffer.from([0, 255, 1]) },
];

function read(r: FetchedRecords): { offset: bigint; key: string | null; value: number[] | null }[] {
  return Array.from({ length: r.length }, (_, i) => ({
    offset: r.offset(i),
    key: r.key(i)?.toString() ?? null,
    value: r.value(i) === null ? null : [...(r.value(i) as Buffer)],
  }));
}

describe('fetched records', () => {
  it('a packed fetch reads back as kafkajs delivered it: offsets past 2^53, null and empty keys and values', () => {
    expect(read(packedRecords(packRecords(kafkajsRecords(messages))))).toEqual(read(kafkajsRecords(messages)));
    expect(read(kafkajsRecords(messages))[3]).toEqual({ offset: 9007199254740993n, key: null, value: null });
    expect(read(kafkajsRecords(messages))[1]?.value).toEqual([]);
  });

  it('crosses a MessagePort with its buffers moved, and reads the same on the other side', async () => {
    const { port1, port2 } = new MessageChannel();
    const packed = packRecords(kafkajsRecords(messages));
    const got = once(port2, 'message');
    port1.postMessage(packed, packedTransferList(packed));
    expect(packed.bytes.byteLength).toBe(0); // moved: the sender no longer holds them
    const [arrived] = (await got) as [PackedRecords];
    expect(read(packedRecords(arrived))).toEqual(read(kafkajsRecords(messages)));
    port1.close();
  });

  it('packs headers only when asked, and they read back in record order, byte for byte', () => {
    const withHeaders = [
      { ...messages[0]!, headers: { trace: Buffer.from([0, 255, 7]), 'x-ключ': [Buffer.from('a'), Buffer.from('b')] } },
      { ...messages[1]!, headers: {} },
      { ...messages[4]!, headers: { empty: Buffer.alloc(0) } },
    ];
    const list = (r: FetchedRecords, i: number) =>
      headerList(r.headers(i)).map((h) => [h.key, h.value === null ? null : [...h.value]]);
    expect(packRecords(kafkajsRecords(withHeaders)).headers).toBeNull();
    const packed = packedRecords(packRecords(kafkajsRecords(withHeaders), true));
    expect(list(packed, 0)).toEqual([
      ['trace', [0, 255, 7]],
      ['x-ключ', [97]],
      ['x-ключ', [98]],
    ]);
    expect(list(packed, 1)).toEqual([]);
    expect(list(packed, 2)).toEqual([['empty', []]]);
    for (let i = 0; i < withHeaders.length; i++) expect(list(packed, i)).toEqual(list(kafkajsRecords(withHeaders), i));
  });

  it('an empty fetch packs to nothing', () => {
    const p = packRecords(NO_RECORDS);
    expect(p.bytes.byteLength).toBe(0);
    expect(packedRecords(p).length).toBe(0);
  });
});
