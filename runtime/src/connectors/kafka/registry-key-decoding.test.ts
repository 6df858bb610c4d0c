// A source's registry-format keys against timings the real registry cannot be made to produce on
// demand (a key schema held back while its value's is ready): a hand-written registry on an
// ephemeral loopback port serves the schemas. The real registry and Kafka with Confluent's own
// serializers: registry-keys.int.test.ts.
import { createServer, type Server } from 'node:http';
import avro from 'avsc';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isTributaryError } from '../../errors.ts';
import { frame } from '../../formats/registry/wire.ts';
import type { KafkaSourceSpec } from '../../graph/spec.ts';
import { PartitionQueues, type Queued } from './partition-queues.ts';
import { ValueDecoder } from './registry-decoding.ts';
import { jsonText } from '../../core/json-text.ts';

const click = { type: 'record', name: 'Click', fields: [{ name: 'n', type: 'int' }] };
const userKey = { type: 'record', name: 'UserKey', fields: [{ name: 'user', type: 'string' }] };
const clicks = avro.Type.forSchema(click as unknown as avro.Schema);
const keys = avro.Type.forSchema(userKey as unknown as avro.Schema);
const strings = avro.Type.forSchema('string');

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

/** Serves ids 1 (Click), 3 (UserKey, held until `release`), 4 (a string key); 503 for 7, else 404; counts by id. */
async function registry(): Promise<{ url: string; release: () => void; requests: Map<string, number> }> {
  const requests = new Map<string, number>();
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  server = createServer((req, res) => {
    const id = /\/schemas\/ids\/(\d+)/.exec(req.url ?? '')?.[1] ?? '?';
    requests.set(id, (requests.get(id) ?? 0) + 1);
    const answer = (status: number, body: object) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (id === '1') answer(200, { schema: JSON.stringify(click) });
    else if (id === '3') void released.then(() => answer(200, { schema: JSON.stringify(userKey) }));
    else if (id === '4') answer(200, { schema: '"string"' });
    else if (id === '7') answer(503, { message: 'down for maintenance' });
    else answer(404, { message: `schema ${id} not found`, error_code: 40403 });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, release, requests };
}

const spec = (url: string, o: Partial<KafkaSourceSpec> = {}): KafkaSourceSpec => ({
  brokers: 'b',
  topic: 't',
  format: 'avro',
  keyFormat: 'avro',
  registry: { url },
  ...o,
});

const value = (n: number) => frame(1, clicks.toBuffer({ n }));
const userKeyOf = (user: string) => frame(3, keys.toBuffer({ user }));
function entry(offset: number, key: Buffer | null, v: Buffer | null): Queued {
  return { partition: 0, offset: BigInt(offset), key, value: v };
}

/** One drain: a record as `offset:<record JSON>`, a bad one as `offset!reason`. */
function drain(q: PartitionQueues, d: ValueDecoder): string[] {
  const got: string[] = [];
  q.drain(100, (m) => {
    const r = d.decode(m);
    if (r === 'wait') return 'wait';
    got.push(r.ok ? `${m.offset}:${jsonText(r.rec)}` : `${m.offset}!${r.reason}`);
    return r.ok;
  });
  return got;
}

/** Drains until the queue is empty, waiting for a wake between drains that left entries waiting. */
async function drainAll(q: PartitionQueues, d: ValueDecoder, next: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < 10 && q.queuedOf(0) > 0; i++) {
    const wake = next();
    seen.push(...drain(q, d));
    if (q.queuedOf(0) > 0) await wake;
  }
  return seen;
}

/** A decoder whose wakes resolve `next()`'s promise. */
function decoder(s: KafkaSourceSpec): { d: ValueDecoder; next: () => Promise<void> } {
  let woken: () => void = () => {};
  const d = new ValueDecoder(s, {}, 'source "s" (slot 0)', () => woken());
  return { d, next: () => new Promise<void>((res) => (woken = res)) };
}

describe('ValueDecoder with registry keys', () => {
  it('lets a message leave only once both its key and value ids are ready, fetching both together', async () => {
    const r = await registry();
    const { d, next } = decoder(spec(r.url));
    await d.open();
    const q = new PartitionQueues();
    q.enqueue(entry(0, userKeyOf('ann'), value(1)));
    q.enqueue(entry(1, null, value(2)));
    let wake = next();
    expect(drain(q, d)).toEqual([]);
    await wake; // the value's id 1 arrived; the key's id 3 is held
    await vi.waitFor(() => expect(r.requests.get('3')).toBe(1)); // asked in the same drain as id 1
    wake = next();
    expect(drain(q, d)).toEqual([]); // the value is ready, the key is not: nothing leaves, nothing passed over
    expect(q.queuedOf(0)).toBe(2);
    r.release();
    await wake;
    expect(drain(q, d)).toEqual(['0:{"n":1,"key":{"user":"ann"}}', '1:{"n":2,"key":null}']);
    expect([r.requests.get('1'), r.requests.get('3')]).toEqual([1, 1]);
    await d.close();
  });

  it('makes an undecodable key, an unknown key id and a key the reader cannot resolve bad records', async () => {
    const r = await registry();
    r.release();
    // A reader key schema a string key (id 4) does not resolve into.
    const { d, next } = decoder(
      spec(r.url, { registry: { url: r.url, keySchema: { inline: JSON.stringify(userKey) } } }),
    );
    await d.open();
    const q = new PartitionQueues();
    q.enqueue(entry(0, Buffer.from('k0'), value(1))); // a plain string key: not the wire format
    q.enqueue(entry(1, frame(99, strings.toBuffer('x')), value(2)));
    q.enqueue(entry(2, frame(4, strings.toBuffer('y')), value(3)));
    q.enqueue(entry(3, userKeyOf('bo'), value(4)));
    q.enqueue(entry(4, frame(3, Buffer.from([9])), value(5))); // truncated
    expect(await drainAll(q, d, next)).toEqual([
      '0!key_format_decode',
      '1!key_schema_not_found',
      '2!key_format_schema',
      '3:{"n":4,"key":{"user":"bo"}}',
      '4!key_format_decode',
    ]);
    await d.close();
  });

  it('puts a key into the field keyField names, and refuses a value that already has that field', async () => {
    const r = await registry();
    r.release();
    const q = new PartitionQueues();
    q.enqueue(entry(0, frame(4, strings.toBuffer('s1')), value(1)));
    const named = decoder(spec(r.url, { keyField: 'session' }));
    expect(await drainAll(q, named.d, named.next)).toEqual(['0:{"n":1,"session":"s1"}']);
    await named.d.close();
    q.enqueue(entry(1, frame(4, strings.toBuffer('s2')), value(2)));
    const clash = decoder(spec(r.url, { keyField: 'n' }));
    expect(await drainAll(q, clash.d, clash.next)).toEqual(['1!key_field_conflict']);
    await clash.d.close();
  });

  it("fails the source when the registry stays unavailable for a key's id, never skipping the message", async () => {
    const r = await registry();
    const { d, next } = decoder(spec(r.url));
    const q = new PartitionQueues();
    q.enqueue(entry(0, frame(7, strings.toBuffer('k')), value(1)));
    const wake = next();
    expect(drain(q, d)).toEqual([]);
    await wake; // the value's id arrives at once; the key's after the client's 4 attempts
    await vi.waitFor(() => expect(r.requests.get('7')).toBe(4), { timeout: 5000 });
    let err: unknown;
    await vi.waitFor(
      () => {
        try {
          drain(q, d);
        } catch (e) {
          err = e;
        }
        expect(err).toBeDefined();
      },
      { timeout: 5000 },
    );
    expect(isTributaryError(err, 'TRIB_REGISTRY_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain('source "s" (slot 0)');
    expect((err as Error).message).toContain(r.url);
    expect(q.queuedOf(0)).toBe(1);
    await d.close();
  });
});
