import { describe, expect, it } from 'vitest';
import { KubeApiError, type AdmissionRequest } from '../../kube/index.ts';
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import { druidDatasourceAdmission, validateDruidDatasourceReview } from './admission.ts';
import { checkDatasourceSpec } from './spec-rules.ts';

type Spec = DruidDatasource['spec'];
const spec = (over: Partial<Spec> = {}): Spec => ({
  druid: { url: 'http://druid:8888' },
  kafka: { bootstrapServers: 'k:9092', topic: 'clicks' },
  timestamp: { column: 'ts', format: 'millis' },
  dimensions: ['country'],
  metrics: [
    { type: 'count', name: 'rows' },
    { type: 'longSum', name: 'clicks', fieldName: 'clicks' },
  ],
  granularity: { segment: 'HOUR', query: 'MINUTE', rollup: true },
  ingestion: { taskCount: 1, replicas: 1, taskDuration: 'PT1H', useEarliestOffset: true },
  suspend: false,
  deletionPolicy: 'Terminate',
  ...over,
});
const ds = (s: Spec, name = 'clicks') => ({ metadata: { name, namespace: 'web', uid: 'u' }, spec: s });
const review = (s: Spec | undefined, over: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
  uid: 'u',
  kind: { group: 'tributary.dev', version: 'v1alpha1', kind: 'DruidDatasource' },
  operation: 'CREATE',
  namespace: 'web',
  object: { metadata: { name: 'clicks', namespace: 'web' }, spec: s },
  ...over,
});
const noLookups = {
  list: async () => {
    throw new Error('no lookup expected');
  },
};
const signal = new AbortController().signal;

describe('DruidDatasource spec rules', () => {
  it('a plain spec passes', () => {
    expect(checkDatasourceSpec(ds(spec()))).toEqual({ issues: [], warnings: [] });
  });

  it('refuses the columns Druid refuses: __time as a dimension or metric, a name both dimension and metric', () => {
    const { issues } = checkDatasourceSpec(
      ds(
        spec({
          dimensions: ['country', '__time'],
          metrics: [
            { type: 'count', name: 'country' },
            { type: 'count', name: '__time' },
          ],
        }),
      ),
    );
    expect(issues.map((i) => i.path)).toEqual(['spec.dimensions[1]', 'spec.metrics[0].name', 'spec.metrics[1].name']);
    expect(issues[1]?.message).toBe('"country" is also spec.dimensions[0]; Druid refuses a column named twice');
    // Overrides that replace the lists make those fields unused: Druid judges the override.
    const overridden = spec({
      dimensions: ['country'],
      metrics: [{ type: 'count', name: 'country' }],
      specOverrides: { spec: { dataSchema: { metricsSpec: [] } } },
    });
    expect(checkDatasourceSpec(ds(overridden)).issues).toEqual([]);
  });

  it('refuses overrides of what the operator owns: type, suspension, supervisor id, topic, brokers', () => {
    const specOverrides = {
      type: 'kinesis',
      suspended: true,
      spec: {
        dataSchema: { dataSource: 'other' },
        ioConfig: { topic: 'other', consumerProperties: { 'bootstrap.servers': 'x:1' } },
      },
    };
    expect(checkDatasourceSpec(ds(spec({ specOverrides }))).issues.map((i) => i.path)).toEqual([
      'spec.specOverrides.type',
      'spec.specOverrides.suspended',
      'spec.specOverrides.spec.dataSchema.dataSource',
      'spec.specOverrides.spec.ioConfig.topic',
      'spec.specOverrides.spec.ioConfig.consumerProperties.bootstrap.servers',
    ]);
    // Restating what the fields already say is harmless.
    const same = {
      type: 'kafka',
      spec: { dataSchema: { dataSource: 'clicks' }, ioConfig: { topic: 'clicks', taskCount: 2 } },
    };
    expect(checkDatasourceSpec(ds(spec({ specOverrides: same }))).issues).toEqual([]);
  });

  it('warns about ignored brokers, sub-minute tasks, and an update that moves to another supervisor', () => {
    const s = spec({
      kafka: { bootstrapServers: 'k:9092', topic: 'clicks', consumerProperties: { 'bootstrap.servers': 'y:1' } },
      ingestion: { taskCount: 1, replicas: 1, taskDuration: 'PT30S', useEarliestOffset: true },
      dataSource: 'clicks_v2',
    });
    const { issues, warnings } = checkDatasourceSpec(ds(s), ds(spec()));
    expect(issues).toEqual([]);
    expect(warnings).toEqual([
      "spec.kafka.consumerProperties: 'bootstrap.servers' is ignored; spec.kafka.bootstrapServers is always used",
      'spec.ingestion.taskDuration: PT30S is under a minute; Druid fails such tasks (IllegalArgumentException from the rejection-period timer)',
      'spec.dataSource: this object moves from supervisor "clicks" to "clicks_v2"; "clicks" keeps running in Druid',
    ]);
  });
});

describe('DruidDatasource admission', () => {
  it('refuses with the field paths; admits a valid spec', async () => {
    const h = druidDatasourceAdmission({ kube: noLookups });
    expect([h.path, h.kinds]).toEqual([
      '/validate-druiddatasource',
      [{ group: 'tributary.dev', kind: 'DruidDatasource' }],
    ]);
    const bad = await validateDruidDatasourceReview(
      review(spec({ specOverrides: { type: 'kinesis' } })),
      { kube: noLookups },
      signal,
    );
    expect(bad).toEqual({
      allowed: false,
      message: 'spec.specOverrides.type: the operator manages Kafka supervisors only (type kafka)',
    });
    expect(await validateDruidDatasourceReview(review(spec()), { kube: noLookups }, signal)).toEqual({
      allowed: true,
      warnings: [],
    });
    expect(await validateDruidDatasourceReview(review(undefined), { kube: noLookups }, signal)).toEqual({
      allowed: false,
      message: 'spec: required',
    });
  });

  it('lets an UPDATE through that leaves the spec alone', async () => {
    const s = spec({ specOverrides: { type: 'kinesis' } });
    const v = await validateDruidDatasourceReview(
      review(s, { operation: 'UPDATE', oldObject: { metadata: { name: 'clicks' }, spec: s } }),
      { kube: noLookups },
      signal,
    );
    expect(v).toEqual({ allowed: true });
  });

  it('warns when the basic-auth Secret is missing or not opted in, lacks its keys, or cannot be checked', async () => {
    const s = spec({
      druid: {
        url: 'https://druid:8888',
        basicAuthSecretRef: { name: 'druid-auth', usernameKey: 'user', passwordKey: 'password' },
      },
    });
    const answer = (fn: () => unknown) => ({ list: async () => fn() }) as never;
    const warn = async (kube: never) => (await validateDruidDatasourceReview(review(s), { kube }, signal)).warnings;
    expect(await warn(answer(() => ({ items: [] })))).toEqual([
      'spec.druid.basicAuthSecretRef: Secret web/druid-auth not found with label tributary.dev/credentials: "true"; a Secret is used as credentials only once it carries that label; the supervisor is not synced until it is',
    ]);
    const secret = (data: Record<string, string>) => ({ items: [{ metadata: { name: 'druid-auth' }, data }] });
    expect(await warn(answer(() => secret({ password: 'cA==' })))).toEqual([
      'spec.druid.basicAuthSecretRef: Secret "druid-auth" has no key "user"; the supervisor is not synced until it has',
    ]);
    expect(await warn(answer(() => secret({ user: 'dQ==', password: 'cA==' })))).toEqual([]);
    expect(
      (
        await warn(
          answer(() => {
            throw new KubeApiError(403, 'forbidden');
          }),
        )
      )?.[0],
    ).toBe('spec.druid.basicAuthSecretRef: Secret "druid-auth" was not checked (forbidden)');
  });

  it('refuses credentials bound for a plain-http url unless allowInsecure', async () => {
    const ref = { name: 'druid-auth', usernameKey: 'user', passwordKey: 'password' };
    const http = spec({ druid: { url: 'http://druid:8888', basicAuthSecretRef: ref } });
    const v = await validateDruidDatasourceReview(review(http), { kube: noLookups }, signal);
    expect(v.allowed).toBe(false);
    expect(v.message).toContain('spec.druid.url: credentials (spec.druid.basicAuthSecretRef) are sent only over https');
    const allowed = spec({ druid: { url: 'http://druid:8888', allowInsecure: true, basicAuthSecretRef: ref } });
    const kube = {
      list: async () => ({ items: [{ metadata: { name: 'druid-auth' }, data: { user: 'dQ==', password: 'cA==' } }] }),
    } as never;
    expect((await validateDruidDatasourceReview(review(allowed), { kube }, signal)).allowed).toBe(true);
  });
});
