// Registry formats against JSON on the same records: decode → map → encode per record, as a
// Kafka job with `format: avro | protobuf | json-schema` does it between its source and sink
// (the codecs' synchronous paths, schemas readied first, as the connectors use them), and the
// same with `format: json` (JSON.parse / JSON.stringify). Records/s and records per CPU-second,
// each format's ratio to JSON, rounds alternating in one process. Needs a schema registry
// (TRIBUTARY_REGISTRY_URL, the local cluster's `--with registry`); prints a skip line otherwise.
// `npm run bench -- formats`.
import { randomUUID } from 'node:crypto';
import type { Rec } from '../runtime/src/core/record.ts';
import { AvroCodec } from '../runtime/src/formats/avro/avro-codec.ts';
import type { RecordCodec } from '../runtime/src/formats/codec.ts';
import { JsonSchemaCodec } from '../runtime/src/formats/json-schema/json-schema-codec.ts';
import { ProtobufCodec } from '../runtime/src/formats/protobuf/protobuf-codec.ts';
import { SchemaRegistryClient } from '../runtime/src/formats/registry/client.ts';

const AVRO = JSON.stringify({
  type: 'record',
  name: 'Click',
  namespace: 'bench',
  fields: [
    { name: 'user', type: 'string' },
    { name: 'country', type: 'string' },
    { name: 'price', type: 'double' },
    { name: 'qty', type: 'int' },
    { name: 'ts', type: 'long' },
    { name: 'tags', type: { type: 'array', items: 'string' } },
  ],
});
const PROTO = `syntax = "proto3";
package bench;
message Click { string user = 1; string country = 2; double price = 3; int32 qty = 4; int64 ts = 5; repeated string tags = 6; }
`;
const JSON_SCHEMA = JSON.stringify({
  type: 'object',
  properties: {
    user: { type: 'string' },
    country: { type: 'string' },
    price: { type: 'number' },
    qty: { type: 'integer' },
    ts: { type: 'integer' },
    tags: { type: 'array', items: { type: 'string' } },
  },
  required: ['user', 'country', 'price', 'qty', 'ts', 'tags'],
});

const COUNTRIES = ['de', 'fr', 'us', 'jp', 'br', 'in', 'mx', 'ca'];
function records(n: number): Rec[] {
  return Array.from({ length: n }, (_, i) => ({
    user: `user-${i % 10_000}`,
    country: COUNTRIES[i % COUNTRIES.length] as string,
    price: (i % 1000) / 10,
    qty: i % 7,
    ts: 1_700_000_000_000 + i,
    tags: i % 3 === 0 ? ['promo'] : [],
  }));
}

/** The job's map step: the same for every format. */
const map = (r: Rec): Rec => ({ ...r, price: (r['price'] as number) * 1.1, qty: (r['qty'] as number) + 1 });

interface Way {
  name: string;
  input: Buffer[];
  run(input: readonly Buffer[]): number;
}

function codecWay(name: string, codec: RecordCodec, input: Buffer[]): Way {
  return {
    name,
    input,
    run(msgs) {
      let bytes = 0;
      for (const m of msgs) bytes += codec.encodeReady(map(codec.decodeReady(m) as Rec)).length;
      return bytes;
    },
  };
}

function measure(way: Way): { cpuMs: number; wallMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  way.run(way.input);
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { cpuMs: (c.user + c.system) / 1000, wallMs };
}

export async function formatsBenchmark(n = Number(process.env['BENCH_FORMAT_RECORDS'] ?? 200_000)): Promise<void> {
  const url = process.env['TRIBUTARY_REGISTRY_URL'];
  if (!url) {
    console.log('\nformats: skipped (TRIBUTARY_REGISTRY_URL unset: start the local cluster with --with registry)');
    return;
  }
  const client = new SchemaRegistryClient({ url });
  const run = randomUUID().slice(0, 8);
  const recs = records(n);
  const ways: Way[] = [
    {
      name: 'json',
      input: recs.map((r) => Buffer.from(JSON.stringify(r))),
      run(msgs) {
        let bytes = 0;
        for (const m of msgs) bytes += Buffer.from(JSON.stringify(map(JSON.parse(m.toString('utf8')) as Rec))).length;
        return bytes;
      },
    },
  ];
  const codecs: [string, RecordCodec][] = [
    [
      'avro',
      new AvroCodec({ client, subject: `bench-avro-${run}-value`, schema: { inline: AVRO }, autoRegister: true }),
    ],
    [
      'protobuf',
      new ProtobufCodec({ client, subject: `bench-pb-${run}-value`, schema: { inline: PROTO }, autoRegister: true }),
    ],
    [
      'json-schema',
      new JsonSchemaCodec({
        client,
        subject: `bench-js-${run}-value`,
        schema: { inline: JSON_SCHEMA },
        autoRegister: true,
      }),
    ],
  ];
  for (const [name, codec] of codecs) {
    await codec.openSchema();
    await codec.openWriter();
    const input = recs.map((r) => codec.encodeReady(r));
    await codec.prepareDecode((input[0] as Buffer).readUInt32BE(1));
    ways.push(codecWay(name, codec, input));
  }
  await client.close();
  const rounds = 5;
  const cpu = new Map<string, number[]>(ways.map((w) => [w.name, []]));
  const wall = new Map<string, number[]>(ways.map((w) => [w.name, []]));
  for (const w of ways) w.run(w.input.slice(0, 20_000)); // warm-up (JIT)
  for (let r = 0; r < rounds; r++) {
    for (const w of r % 2 === 0 ? ways : [...ways].reverse()) {
      const m = measure(w);
      cpu.get(w.name)?.push(m.cpuMs);
      wall.get(w.name)?.push(m.wallMs);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
  const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const jsonPerCpu = n / (median(cpu.get('json') ?? []) / 1000);
  console.log(
    `\nformats: decode → map → encode of ${fmt.format(n)} records per round (6 fields), median of ${rounds} alternating rounds`,
  );
  for (const w of ways) {
    const perCpu = n / (median(cpu.get(w.name) ?? []) / 1000);
    const perWall = n / (median(wall.get(w.name) ?? []) / 1000);
    const size = (w.input.reduce((a, b) => a + b.length, 0) / n).toFixed(1);
    console.log(
      `  ${w.name.padEnd(12)} ${fmt.format(perWall).padStart(10)} rec/s  ${fmt.format(perCpu).padStart(10)} rec per CPU-s` +
        `  ×${(perCpu / jsonPerCpu).toFixed(2)} of json  (${size} bytes per message)`,
    );
  }
}
