// The webhook's registry pass on a source whose reader version references another subject: the
// real registry (Apicurio, TRIBUTARY_REGISTRY_URL) holds an Avro order schema naming a type
// registered under a subject of its own; the pass resolves the reference and checks the job's
// expressions against the fields, the referenced record's included.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SchemaRegistryClient } from '../../../../runtime/src/formats/registry/client.ts';
import { registryTypedIssues } from './registry-admission.ts';

describe('the webhook types a source whose schema version has references', () => {
  const url = process.env.TRIBUTARY_REGISTRY_URL!;
  const run = randomUUID().slice(0, 8);

  it('refuses a field the version lacks and admits one of the referenced type, naming the version', async () => {
    expect(url, 'TRIBUTARY_REGISTRY_URL: start the cluster with --with registry').toBeTruthy();
    const ns = `it.w${run}`;
    const money = { type: 'record', name: 'Money', namespace: ns, fields: [{ name: 'cents', type: 'long' }] };
    const order = {
      type: 'record',
      name: 'Order',
      namespace: ns,
      fields: [
        { name: 'id', type: 'string' },
        { name: 'total', type: `${ns}.Money` },
      ],
    };
    const topic = `it-webhook-refs-${run}`;
    const client = new SchemaRegistryClient({ url });
    try {
      const moneySubject = `it-webhook-money-${run}`;
      await client.idFor(moneySubject, { schemaType: 'AVRO', schema: JSON.stringify(money) }, { autoRegister: true });
      const references = [{ name: `${ns}.Money`, subject: moneySubject, version: 1 }];
      const schema = { schemaType: 'AVRO' as const, schema: JSON.stringify(order), references };
      await client.idFor(`${topic}-value`, schema, { autoRegister: true });
    } finally {
      await client.close();
    }
    const graph = (filter: string) => ({
      sources: [
        {
          name: 'orders',
          kafka: { brokers: 'k:9092', topic, format: 'avro', registry: { url, schema: { version: 1 } } },
        },
      ],
      steps: [{ name: 'f', from: 'orders', filter }],
      sinks: [{ name: 'out', from: 'f', console: {} }],
    });
    const signal = AbortSignal.timeout(30_000);
    const fine = await registryTypedIssues(graph('total.cents > 100 && id != ""'), { allowed: [url] }, signal);
    expect(fine).toEqual({ issues: [], warnings: [] });
    const wrong = await registryTypedIssues(graph('country == "NL"'), { allowed: [url] }, signal);
    expect(wrong.warnings).toEqual([]);
    expect(wrong.issues).toEqual([
      {
        path: 'spec.graph.steps[0].filter',
        message: expect.stringMatching(
          /country.*\(registry schema: version 1 of subject "it-webhook-refs-.*-value"\)$/,
        ),
      },
    ]);
  }, 60_000);
});
