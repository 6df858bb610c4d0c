// The source's decoding of registry formats against timings the real registry cannot be made to
// produce on demand (an answer held back while later messages queue up, a 503 on every attempt):
// a hand-written registry on an ephemeral loopback port serves the schemas. The real registry and
// Kafka: registry-formats.int.test.ts.
import { createServer, type Server } from 'node:http';
import avro from 'avsc';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isTributaryError } from '../../errors.ts';
import { frame } from '../../formats/registry/wire.ts';
import type { KafkaSourceSpec } from '../../graph/spec.ts';
import { PartitionQueues, type Queued } from './partition-queues.ts';
import { ValueDecoder } from './registry-decoding.ts';

const v1 = { type: 'record', name: 'User', fields: [{ name: 'name', type: 'string' }] };
const v2 = {
  type: 'record',
  name: 'User',
  fields: [
    { name: 'name', type: 'string' },
    { name: 'age', type: 'int', default: -1 },
  ],
};
const t1 = avro.Type.forSchema(v1 as unknown as avro.Schema);
const t2 = avro.Type.forSchema(v2 as unknown as avro.Schema);

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

/** Serves schema ids 1 (v1) and 2 (v2, held until `release`), 404 for others, 503 for id 7; counts requests by id. */
async function registry(): Promise<{ url: string; release: () => void; requests: Map<string, number> }> {
  const requests = new Map<string, number>();
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  server = createServer((req, res) => {
    const id = /\/schemas\/ids\/(\d+)/.exec(req.url ?? '')?.[1] ?? '?';
    requests.set(id, (requests.get(id) ?? 0) + 1);
    const answer = (status: number, body: object) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (id === '1') answer(200, { schema: JSON.stringify(v1) });
    else if (id === '2') void released.then(() => answer(200, { schema: JSON.stringify(v2) }));
    else if (id === '7') answer(503, { message: 'down for maintenance' });
    else answer(404, { message: `schema ${id} not found`, error_code: 40403 });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, release, requests };
}

const spec = (url: string): KafkaSourceSpec => ({
  brokers: 'b',
  topic: 't',
  format: 'avro',
  registry: { url, schema: { inline: JSON.stringify(v2) } },
});

function entry(partition: number, offset: number, value: Buffer): Queued {
  return { partition, offset: BigInt(offset), key: null, value };
}

/** One drain: each entry decoded; a record as `p:offset:name`, a bad one as `p:offset!reason`. */
function drain(q: PartitionQueues, d: ValueDecoder): string[] {
  const got: string[] = [];
  q.drain(100, (m) => {
    const r = d.decode(m);
    if (r === 'wait') return 'wait';
    got.push(
      r.ok
        ? `${m.partition}:${m.offset}:${String(r.rec['name'])}/${String(r.rec['age'])}`
        : `${m.partition}:${m.offset}!${r.reason}`,
    );
    return r.ok;
  });
  return got;
}

describe('ValueDecoder with a registry format', () => {
  it('stops a partition at a message whose schema is on its way and resumes there, in offset order', async () => {
    const r = await registry();
    let wakes = 0;
    let woken: () => void = () => {};
    const d = new ValueDecoder(spec(r.url), {}, 'source "s" (slot 0)', () => {
      wakes++;
      woken();
    });
    const nextWake = () => new Promise<void>((res) => (woken = res));
    await d.open();
    const q = new PartitionQueues();
    q.enqueue(entry(0, 0, frame(1, t1.toBuffer({ name: 'a' }))));
    q.enqueue(entry(0, 1, frame(2, t2.toBuffer({ name: 'b', age: 2 }))));
    q.enqueue(entry(0, 2, frame(1, t1.toBuffer({ name: 'c' }))));
    q.enqueue(entry(1, 0, frame(1, t1.toBuffer({ name: 'x' }))));

    let wake = nextWake();
    expect(drain(q, d)).toEqual([]); // id 1 not fetched yet: both partitions wait at their first message
    expect(q.queuedOf(0) + q.queuedOf(1)).toBe(4);
    await wake;
    wake = nextWake();
    expect(drain(q, d).sort()).toEqual(['0:0:a/-1', '1:0:x/-1']); // partition 0 now waits at offset 1 (id 2)
    expect(q.queuedOf(0)).toBe(2);
    await vi.waitFor(() => expect(r.requests.get('2')).toBe(1));
    expect(drain(q, d)).toEqual([]); // still on its way: nothing passed over, no second fetch
    r.release();
    await wake;
    expect(drain(q, d)).toEqual(['0:1:b/2', '0:2:c/-1']);
    expect([r.requests.get('1'), r.requests.get('2')]).toEqual([1, 1]);
    expect(wakes).toBe(2);
    await d.close();
  });

  it('makes an unknown schema id and an undecodable payload bad records, remembering the id', async () => {
    const r = await registry();
    let woken: () => void = () => {};
    const d = new ValueDecoder(spec(r.url), {}, 'source "s" (slot 0)', () => woken());
    const q = new PartitionQueues();
    q.enqueue(entry(0, 0, Buffer.from('not avro')));
    q.enqueue(entry(0, 1, frame(99, Buffer.from([2, 0x61]))));
    q.enqueue(entry(0, 2, frame(99, Buffer.from([2, 0x62]))));
    q.enqueue(entry(0, 3, frame(1, Buffer.from([9]))));
    const wake = new Promise<void>((res) => (woken = res));
    expect(drain(q, d)).toEqual(['0:0!format_decode']);
    await wake;
    const next = new Promise<void>((res) => (woken = res));
    expect(drain(q, d)).toEqual(['0:1!schema_not_found', '0:2!schema_not_found']);
    await next;
    expect(drain(q, d)).toEqual(['0:3!format_decode']); // truncated: a string of length 1 with no byte
    expect(r.requests.get('99')).toBe(1);
    await d.close();
  });

  it('fails the source when the registry stays unavailable, naming the source and the registry', async () => {
    const r = await registry();
    let woken: () => void = () => {};
    const d = new ValueDecoder(spec(r.url), {}, 'source "s" (slot 0)', () => woken());
    const q = new PartitionQueues();
    q.enqueue(entry(0, 0, frame(7, t1.toBuffer({ name: 'a' }))));
    const wake = new Promise<void>((res) => (woken = res));
    expect(drain(q, d)).toEqual([]);
    await wake; // the client's 4 attempts, 100 ms backoff doubling
    let err: unknown;
    try {
      drain(q, d);
    } catch (e) {
      err = e;
    }
    expect(isTributaryError(err, 'TRIB_REGISTRY_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain('source "s" (slot 0)');
    expect((err as Error).message).toContain(r.url);
    expect(q.queuedOf(0)).toBe(1); // never skipped
    await d.close();
  });
});
