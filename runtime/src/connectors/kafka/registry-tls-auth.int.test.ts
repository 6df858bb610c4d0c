// A job reaching the schema registry through one endpoint that asks for both TLS and basic auth
// (the local cluster's nginx front over HTTPS, TRIBUTARY_REGISTRY_AUTH_TLS_URL), as a production
// registry is reached: the sink registers its writer schema there, a second job's source fetches
// the latest version and the writer's schema by id there, and Confluent's own reader, on the
// registry's plain port, reads what was written. Without the CA the source fails naming the
// certificate error; with a wrong password, TRIB_REGISTRY_AUTH; neither skips a record.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confluentAvroRead } from '../../../../test/harness/confluent-python.ts';
import { JobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { readTopic } from '../../testing/kafka-reader.ts';
import { createTopics } from '../../testing/kafka-topics.ts';
import { kafkaTestRun } from '../../testing/kafka-test-run.ts';
import { validateGraph } from '../validate-graph.ts';

const schema = JSON.stringify({
  type: 'record',
  name: 'Login',
  namespace: 'it.secure',
  fields: [
    { name: 'user', type: 'string' },
    { name: 'n', type: 'long' },
  ],
});
const records = [
  { user: 'ann', n: 1 },
  { user: 'bob', n: 2 },
  { user: 'cy', n: 3 },
];

describe('the registry behind TLS and basic auth at once', () => {
  const url = process.env.TRIBUTARY_REGISTRY_AUTH_TLS_URL!;
  const caFile = process.env.TRIBUTARY_REGISTRY_CA!;
  const { run, bs, kafka } = kafkaTestRun();
  // The variables the graph names; a slot reads them when its connector opens.
  const userEnv = `IT_REGISTRY_USER_${run}`;
  const passwordEnv = `IT_REGISTRY_PASSWORD_${run}`;
  const wrongEnv = `IT_REGISTRY_WRONG_${run}`;
  const topic = `it-secure-${run}`;

  beforeAll(async () => {
    process.env[userEnv] = process.env.TRIBUTARY_REGISTRY_USER!;
    process.env[passwordEnv] = process.env.TRIBUTARY_REGISTRY_PASSWORD!;
    process.env[wrongEnv] = 'not-the-password';
    await createTopics(kafka, { [topic]: 1, [`${topic}-check`]: 1 });
  });
  afterAll(async () => {
    for (const v of [userEnv, passwordEnv, wrongEnv]) delete process.env[v];
  });

  const registry = (o: { ca?: boolean; password?: string; version?: boolean } = {}) => ({
    url,
    ...(o.ca === false ? {} : { caFile }),
    basicAuth: { usernameEnv: userEnv, passwordEnv: o.password ?? passwordEnv },
    schema: o.version ? { version: 'latest' } : { inline: schema },
  });

  const reader = (registryBlock: object, out: string): GraphSpec =>
    ({
      sources: [
        {
          name: 'logins',
          kafka: {
            brokers: bs,
            topic,
            groupId: `it-${randomUUID()}`,
            bounded: 'latest',
            format: 'avro',
            registry: registryBlock,
          },
        },
      ],
      sinks: [{ name: 'check', from: 'logins', kafka: { brokers: bs, topic: out } }],
    }) as unknown as GraphSpec;

  it('a sink registers and a source reads through it; an independent reader agrees', async () => {
    const writer = {
      sources: [{ name: 'in', collection: { records } }],
      sinks: [
        {
          name: 'out',
          from: 'in',
          kafka: { brokers: bs, topic, format: 'avro', registry: registry() },
        },
      ],
    } as unknown as GraphSpec;
    const w = await new JobExecutor(validateGraph(writer), { parallelism: 1, logger: silentLogger() }).run();
    expect(w.state).toBe('FINISHED');

    // Confluent's deserializer, on the registry's own plain port: the id our sink registered is the registry's.
    const byConfluent = await confluentAvroRead(bs, process.env.TRIBUTARY_REGISTRY_URL!, topic, records.length);
    // Sorted: the at-least-once sink may have more than one send in flight.
    const byUser = (a: unknown, b: unknown) => (a as { user: string }).user.localeCompare((b as { user: string }).user);
    expect(byConfluent.map((r) => r.value).sort(byUser)).toEqual(records);

    const job = new JobExecutor(validateGraph(reader(registry({ version: true }), `${topic}-check`)), {
      parallelism: 1,
      logger: silentLogger(),
    });
    expect((await job.run()).state).toBe('FINISHED');
    const back = await readTopic(kafka, `${topic}-check`, { expected: records.length, settleMs: 500 });
    expect(back.map((b) => JSON.parse(b.value) as unknown).sort(byUser)).toEqual(records);
    // Every call through the endpoint answered, the version among them.
    const calls = (await job.metrics.registryRequests.get()).values.map(
      (v) => `${v.labels.operation},${v.labels.outcome}`,
    );
    expect(calls).toContain('version,ok');
    expect(calls.filter((c) => !c.endsWith(',ok'))).toEqual([]);
  });

  it('without the CA: the source fails naming the certificate error, at open, before reading', async () => {
    const job = new JobExecutor(validateGraph(reader(registry({ ca: false, version: true }), `${topic}-no-ca`)), {
      parallelism: 1,
      logger: silentLogger(),
    });
    await expect(job.run()).rejects.toMatchObject({
      code: 'TRIB_REGISTRY_UNAVAILABLE',
      message: expect.stringMatching(new RegExp(`source.*${url.replace(/[./]/g, '\\$&')}.*certificate`, 'is')),
    });
  });

  it('with a wrong password: TRIB_REGISTRY_AUTH, naming the registry', async () => {
    const job = new JobExecutor(
      validateGraph(reader(registry({ password: wrongEnv, version: true }), `${topic}-wrong`)),
      { parallelism: 1, logger: silentLogger() },
    );
    await expect(job.run()).rejects.toMatchObject({
      code: 'TRIB_REGISTRY_AUTH',
      message: expect.stringContaining(url),
    });
  });
});
