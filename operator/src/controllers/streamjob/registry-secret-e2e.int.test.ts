// A StreamJob reading Avro through a schema registry that asks for basic auth (the local
// cluster's registry behind its nginx front), its credentials from a Secret the job names
// (`registry.basicAuth.secretRef`), with the real runtime in slot pods and the controller
// in-process. The Secret is not labelled at first: the job is Invalid, Stalled naming the
// Secret and the missing label, and no pod exists. Labelled, it wakes the job (no spec change):
// the slot pods read the keys by reference (the pod spec holds no value) and every record is
// read, mapped and written.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Resources, type KubeObject } from '../../kube/index.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { AvroCodec } from '../../../../runtime/src/formats/avro/avro-codec.ts';
import { SchemaRegistryClient } from '../../../../runtime/src/formats/registry/client.ts';
import { readTopic } from '../../../../runtime/src/testing/kafka-reader.ts';
import { getJob, harnessPerFile } from './testing/kafka-job-harness.ts';

const SCHEMA = JSON.stringify({
  type: 'record',
  name: 'Order',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'price', type: 'double' },
  ],
});
const N = 50;
const cond = (j: StreamJob, type: string) => j.status?.conditions?.find((c) => c.type === type);

describe('schema registry credentials from an opted-in Secret', () => {
  const harness = harnessPerFile('sjregsec', { in: 1, out: 1 });

  it('a job naming an unlabelled Secret is Invalid; labelled, its pods read the keys and the job runs', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers } = h;
    const env = (k: string) => {
      const v = process.env[k];
      expect(v, `${k}: start the cluster with --with registry`).toBeTruthy();
      return v as string;
    };
    const [direct, authed, user, password] = [
      env('TRIBUTARY_REGISTRY_URL'),
      env('TRIBUTARY_REGISTRY_AUTH_URL'),
      env('TRIBUTARY_REGISTRY_USER'),
      env('TRIBUTARY_REGISTRY_PASSWORD'),
    ];
    const input = h.topics.in!;
    const output = h.topics.out!;
    // The input: Avro written under <input>-value through the registry's unauthenticated port.
    const client = new SchemaRegistryClient({ url: direct });
    const codec = new AvroCodec({ client, subject: `${input}-value`, schema: { inline: SCHEMA }, autoRegister: true });
    const orders = Array.from({ length: N }, (_, i) => ({ id: `o-${i}-${randomUUID().slice(0, 4)}`, price: i + 0.5 }));
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: input,
      messages: await Promise.all(orders.map(async (o) => ({ value: await codec.encode(o) }))),
    });
    await producer.disconnect();
    await client.close();

    const secret = 'registry-creds';
    await kube.create(Resources.Secret, {
      metadata: { name: secret, namespace: ns },
      stringData: { username: user, password },
    } as KubeObject);
    await h.createJob('reader', {
      replicas: 1,
      graph: {
        sources: [
          {
            name: 'orders',
            kafka: {
              brokers,
              topic: input,
              format: 'avro',
              registry: { url: authed, schema: { version: 'latest' }, basicAuth: { secretRef: { name: secret } } },
            },
          },
        ],
        steps: [{ name: 'cents', from: 'orders', map: { id: 'id', cents: 'price * 100.0' } }],
        sinks: [{ name: 'out', from: 'cents', kafka: { brokers, topic: output } }],
      },
    });

    const field = 'spec.graph.sources[0].kafka.registry.basicAuth.secretRef';
    const invalid = await waitFor(
      'the job Invalid, naming the Secret',
      async () => {
        const j = await getJob(kube, ns, 'reader');
        return cond(j, 'Stalled')?.reason === 'InvalidSpec' ? j : undefined;
      },
      60_000,
    );
    expect(cond(invalid, 'Stalled')?.message).toContain(
      `${field}: Secret ${ns}/${secret} not found with label tributary.dev/credentials: "true"`,
    );
    expect(invalid.status?.deployed).toBeUndefined();
    expect((await kube.list(Resources.Pod, ns)).items).toEqual([]);

    await kube.patch(Resources.Secret, ns, secret, { metadata: { labels: { 'tributary.dev/credentials': 'true' } } });
    const out = await readTopic(kafka, output, { expected: N, timeoutMs: 120_000 });
    expect(
      out.map((r) => JSON.parse(r.value) as { id: string; cents: number }).sort((a, b) => a.cents - b.cents),
    ).toEqual(orders.map((o) => ({ id: o.id, cents: o.price * 100 })));
    const pods = (await kube.list<KubeObject & { spec?: { containers?: { env?: unknown[] }[] } }>(Resources.Pod, ns))
      .items;
    expect(pods.length).toBeGreaterThan(0);
    for (const pod of pods) {
      const refs = (pod.spec?.containers?.[0]?.env ?? []).filter((e) =>
        JSON.stringify(e).includes(`"secretKeyRef":{"name":"${secret}"`),
      );
      expect(
        refs.map((e) => (e as { valueFrom: { secretKeyRef: { key: string } } }).valueFrom.secretKeyRef.key).sort(),
      ).toEqual(['password', 'username']);
      expect(JSON.stringify(pod)).not.toContain(password);
    }
  }, 240_000);
});
