// `tributary validate` of a job whose Kafka source reads Avro by a schema version: the CLI asks
// the real registry (the local cluster's Apicurio) for that version and checks the job's
// expressions against its fields; a registry it cannot reach leaves the fields unchecked, with a
// warning naming the source, and the job valid as far as it can tell.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { AvroCodec } from '../../formats/avro/avro-codec.ts';
import { SchemaRegistryClient } from '../../formats/registry/client.ts';
import { startCli } from '../../testing/cli-process.ts';

const url = process.env.TRIBUTARY_REGISTRY_URL;
const dir = mkdtempSync(join(tmpdir(), 'reader-types-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const v1 = JSON.stringify({
  type: 'record',
  name: 'Click',
  fields: [
    { name: 'user', type: 'string' },
    { name: 'price', type: 'double' },
  ],
});
const v2 = JSON.stringify({
  type: 'record',
  name: 'Click',
  fields: [
    { name: 'user', type: 'string' },
    { name: 'price', type: 'double' },
    { name: 'country', type: 'string', default: 'NL' },
  ],
});

function jobFile(
  name: string,
  registry: string,
  topic: string,
  version: number | 'latest',
  filter: string,
  kafka: object = {},
): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'StreamJob',
      metadata: { name },
      spec: {
        replicas: 1,
        graph: {
          sources: [
            {
              name: 'clicks',
              kafka: {
                brokers: '127.0.0.1:19092',
                topic,
                format: 'avro',
                registry: { url: registry, schema: { version } },
                ...kafka,
              },
            },
          ],
          steps: [{ name: 'f', from: 'clicks', filter }],
          sinks: [{ name: 'out', from: 'f', console: {} }],
        },
      },
    }),
  );
  return file;
}

describe('tributary validate against the registry', () => {
  it("checks a source's expressions against the schema version it reads", async () => {
    expect(url, 'TRIBUTARY_REGISTRY_URL: start the cluster with --with registry').toBeTruthy();
    const topic = `rt-${randomUUID()}`;
    const client = new SchemaRegistryClient({ url: url! });
    for (const inline of [v1, v2])
      await new AvroCodec({ client, subject: `${topic}-value`, schema: { inline }, autoRegister: true }).encode({
        user: 'u',
        price: 1,
        country: 'DE',
      });
    await client.close();

    const latest = await startCli(['validate', jobFile('latest', url!, topic, 'latest', 'country == "DE"')]).done;
    expect(latest.code, latest.stderr).toBe(0);
    expect(latest.stderr).toContain('fields checked against the registry schema');
    const pinned = await startCli(['validate', jobFile('pinned', url!, topic, 1, 'country == "DE"')]).done;
    expect(pinned.code).toBe(2);
    expect(pinned.stderr).toMatch(/graph\.steps\[0\]\.filter.*country/);
    const typeError = await startCli(['validate', jobFile('type', url!, topic, 1, 'price == "cheap"')]).done;
    expect(typeError.code).toBe(2);
    expect(typeError.stderr).toContain('graph.steps[0].filter');
  }, 60_000);

  it('a registry it cannot reach: the fields unchecked, a warning naming the source', async () => {
    const down = 'http://127.0.0.1:9/apis/ccompat/v7'; // the discard port: nothing listens there
    const r = await startCli(['validate', jobFile('down', down, 'rt-down', 'latest', 'country == "DE"')]).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/source \\"clicks\\": fields not checked against the registry's schema: .*127\.0\.0\.1:9/);
  }, 60_000);

  it('with keyFormat: the key field is added (dyn), and a value version that has it is named', async () => {
    expect(url, 'TRIBUTARY_REGISTRY_URL: start the cluster with --with registry').toBeTruthy();
    const topic = `rt-keys-${randomUUID()}`;
    const client = new SchemaRegistryClient({ url: url! });
    await new AvroCodec({ client, subject: `${topic}-value`, schema: { inline: v1 }, autoRegister: true }).encode({
      user: 'u',
      price: 1,
    });
    await client.close();
    const keyed = { keyFormat: 'avro' };
    const ok = await startCli(['validate', jobFile('keyed', url!, topic, 1, 'key.id == "k" && price > 1.0', keyed)])
      .done;
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('fields checked against the registry schema');
    const clash = { keyFormat: 'avro', keyField: 'user' };
    const r = await startCli(['validate', jobFile('clash', url!, topic, 1, 'price > 1.0', clash)]).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`has a field \\"user\\", which keyField names for the key`);
  }, 60_000);
});
