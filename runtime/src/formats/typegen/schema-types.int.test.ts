// `tributary schema-types` against the real registry (Apicurio, the local cluster's): the types
// of a subject's latest and a pinned version, printed by the CLI as a user runs it, type a
// DataStream job written against the `tributary` API (checked by the compiler with the
// repository's tsconfig), and records the Avro codec decodes from that registry are values of
// them. A field the schema lacks is a compile error; an unknown subject exits 1 naming it.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startCli } from '../../testing/cli-process.ts';
import { typecheck } from '../../testing/typecheck.ts';
import { AvroCodec } from '../avro/avro-codec.ts';
import { SchemaRegistryClient } from '../registry/client.ts';

const url = process.env.TRIBUTARY_REGISTRY_URL;

const schema = (extra: object[]) =>
  JSON.stringify({
    type: 'record',
    name: 'Click',
    namespace: 'it',
    fields: [
      { name: 'user', type: 'string' },
      { name: 'price', type: 'double' },
      { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['VIEW', 'BUY'] } },
      ...extra,
    ],
  });
const v1 = schema([]);
const v2 = schema([{ name: 'country', type: 'string', default: 'NL' }]);

const job = (body: string) => `import { StreamEnvironment } from 'tributary';
import { kafka } from 'tributary/connectors';
import type { Click } from './types.mts';
const env = new StreamEnvironment();
env
  .fromSource(kafka<Click>({ brokers: '127.0.0.1:19092', topic: 'clicks' }))
  .map((c) => ${body})
  .print();
`;

describe('tributary schema-types against the registry', () => {
  it("types a job's stream from the subject's latest or pinned version; decoded records are values of it", async () => {
    expect(url, 'TRIBUTARY_REGISTRY_URL: start the cluster with --with registry').toBeTruthy();
    const client = new SchemaRegistryClient({ url: url as string });
    const subject = `typegen-${randomUUID()}-value`;
    const w1 = new AvroCodec({ client, subject, schema: { inline: v1 }, autoRegister: true });
    const w2 = new AvroCodec({ client, subject, schema: { inline: v2 }, autoRegister: true });
    const bytes = [
      await w1.encode({ user: 'a', price: 1.5, kind: 'BUY' }),
      await w2.encode({ user: 'b', price: 2, kind: 'VIEW', country: 'DE' }),
    ];
    const latest = await startCli(['schema-types', '--registry', url as string, '--subject', subject]).done;
    expect(latest.code, latest.stderr).toBe(0);
    expect(latest.stdout).toContain(`subject ${subject} version 2`);
    const pinned = await startCli(['schema-types', '--registry', url as string, '--subject', subject, '--version', '1'])
      .done;
    expect(pinned.code, pinned.stderr).toBe(0);

    // The user's job, checked as the repository checks code: with v2 `country` is there, with v1 it is not.
    const reads = job('`${c.user} ${c.kind} ${c.country.toLowerCase()} ${c.price.toFixed(2)}`');
    expect(typecheck({ 'types.mts': latest.stdout, 'job.mts': reads }, { project: true })).toEqual([]);
    expect(typecheck({ 'types.mts': pinned.stdout, 'job.mts': reads }, { project: true }).join('\n')).toMatch(
      /Property 'country' does not exist on type 'Click'/,
    );

    // What the codec decodes with the latest schema as reader: both versions' records fit the type.
    const reader = new AvroCodec({ client, subject, schema: { version: 'latest' } });
    const decoded = await Promise.all(bytes.map((b) => reader.decode(b)));
    expect(decoded[0]).toEqual({ user: 'a', price: 1.5, kind: 'BUY', country: 'NL' });
    const values = decoded.map((d, i) => `export const v${i}: Click = ${JSON.stringify(d)};`).join('\n');
    expect(
      typecheck({ 'types.mts': latest.stdout, 'values.mts': `import type { Click } from './types.mts';\n${values}\n` }),
    ).toEqual([]);
  }, 60_000);

  it('an unknown subject exits 1 with the registry error naming it', async () => {
    const r = await startCli(['schema-types', '--registry', url as string, '--subject', 'no-such-subject-value']).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/TRIB_REGISTRY_NOT_FOUND.*no-such-subject-value/);
    const usage = await startCli(['schema-types', '--registry', url as string]).done;
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('give --subject or --id');
  }, 30_000);
});
