// The fate of messages whose writer schema's references do not resolve, in the source's decoding:
// per schema id, as the fetch of an unknown id (formats-references.md). A hand-written registry on an
// ephemeral loopback port serves a cycle of references, which a real registry does not accept (a
// reference must name a registered schema); the missing reference is also checked against the real
// one (registry-references.int.test.ts).
import { createServer, type Server } from 'node:http';
import avro from 'avsc';
import { afterEach, describe, expect, it } from 'vitest';
import { frame } from '../../formats/registry/wire.ts';
import type { KafkaSourceSpec } from '../../graph/spec.ts';
import { PartitionQueues, type Queued } from './partition-queues.ts';
import { ValueDecoder } from './registry-decoding.ts';
import { jsonText } from '../../core/json-text.ts';

const money = { type: 'record', name: 'Money', namespace: 'it', fields: [{ name: 'cents', type: 'long' }] };
const order = { type: 'record', name: 'Order', namespace: 'it', fields: [{ name: 'total', type: 'it.Money' }] };
const ref = (subject: string, version = 1) => ({ name: 'it.Money', subject, version });

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

/**
 * Schema ids: 1 an order referencing `money` v1 (registered), 2 one referencing `gone` v3 (404), 3 one referencing
 * `loop-a`, whose version references `loop-b`, which references `loop-a` again.
 */
async function registry(): Promise<{ url: string; gets: string[] }> {
  const gets: string[] = [];
  const versions: Record<string, object> = {
    'money/1': { schema: JSON.stringify(money) },
    'loop-a/1': { schema: JSON.stringify(money), references: [ref('loop-b')] },
    'loop-b/1': { schema: JSON.stringify(money), references: [ref('loop-a')] },
  };
  const ids: Record<string, object> = {
    '1': { schema: JSON.stringify(order), references: [ref('money')] },
    '2': { schema: JSON.stringify(order), references: [ref('gone', 3)] },
    '3': { schema: JSON.stringify(order), references: [ref('loop-a')] },
  };
  server = createServer((req, res) => {
    gets.push(req.url ?? '');
    const answer = (status: number, body: object) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const byId = /\/schemas\/ids\/(\d+)$/.exec(req.url ?? '');
    const byVersion = /\/subjects\/([^/]+)\/versions\/(\d+)$/.exec(req.url ?? '');
    const found = byId
      ? ids[byId[1]!]
      : byVersion
        ? versions[`${byVersion[1]}/${byVersion[2]}`] && {
            ...versions[`${byVersion[1]}/${byVersion[2]}`],
            subject: byVersion[1],
            version: Number(byVersion[2]),
            id: 50,
          }
        : undefined;
    if (found) answer(200, found);
    else answer(404, { message: `${req.url} not found`, error_code: 40403 });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, gets };
}

const spec = (url: string): KafkaSourceSpec => ({ brokers: 'b', topic: 't', format: 'avro', registry: { url } });
const entry = (offset: number, value: Buffer): Queued => ({ partition: 0, offset: BigInt(offset), key: null, value });

describe('ValueDecoder with references', () => {
  it('decodes with a resolved reference; a missing one or a cycle makes that id’s messages bad records', async () => {
    const r = await registry();
    let woken: () => void = () => {};
    const d = new ValueDecoder(spec(r.url), {}, 'source "s" (slot 0)', () => woken());
    await d.open();
    const type = avro.Type.forSchema(order as unknown as avro.Schema, {
      registry: { 'it.Money': avro.Type.forSchema(money as unknown as avro.Schema) },
    });
    const q = new PartitionQueues();
    const payload = (cents: number) => type.toBuffer({ total: { cents } });
    [frame(1, payload(5)), frame(2, payload(6)), frame(3, payload(7)), frame(2, payload(8)), frame(1, payload(9))]
      .map((b, i) => entry(i, b))
      .forEach((e) => q.enqueue(e));
    const got: string[] = [];
    const errors: string[] = [];
    for (let round = 0; round < 10 && got.length < 5; round++) {
      const wake = new Promise<void>((res) => (woken = res));
      q.drain(100, (m) => {
        const x = d.decode(m);
        if (x === 'wait') return 'wait';
        if (x.ok) got.push(`${m.offset}:${jsonText(x.rec)}`);
        else {
          got.push(`${m.offset}!${x.reason}`);
          errors.push(x.error);
        }
        return x.ok;
      });
      if (got.length < 5) await wake;
    }
    expect(got).toEqual([
      '0:{"total":{"cents":5}}',
      '1!schema_not_found',
      '2!registry_reference',
      '3!schema_not_found',
      '4:{"total":{"cents":9}}',
    ]);
    expect(errors[0]).toMatch(/^reference "it.Money" \(subject "gone" version 3\) of schema id 2: schema registry /);
    expect(errors[1]).toContain('is a cycle');
    expect(errors[1]).toContain('(subject "loop-b") of reference "it.Money" (subject "loop-a") of schema id 3');
    // Each id and each subject version fetched once; the failed ids are remembered.
    expect(r.gets.filter((g) => g.endsWith('/ids/2')).length).toBe(1);
    expect(r.gets.filter((g) => g.endsWith('/money/versions/1')).length).toBe(1);
    await d.close();
  });
});
