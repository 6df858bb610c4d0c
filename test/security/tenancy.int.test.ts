// A shared cluster's boundaries on the real kube-apiserver (+ controller-manager and node
// agent), with the StreamJob and DruidDatasource controllers running in-process as the
// operator runs them, in a Pod Security "restricted" namespace. Slot pods run the TEST-ONLY
// stand-in runtime (operator/src/controllers/streamjob/testing/fake-runtime.ts): these tests
// are about what the operator creates, reads and refuses, not about the engine.
//   * a Role planted under the job's runtime Role name is not adopted: Degraded ForeignObject
//     names it, no pod starts; once it is gone the job runs and Degraded clears;
//   * a Secret planted under the job's control-token name is not taken as the token;
//   * spec.podTemplate overriding contract env, or naming a service account the install does
//     not allow, is refused (InvalidSpec with the field) and nothing is deployed;
//   * a DruidDatasource naming a Secret without tributary.dev/credentials=true is refused
//     (CredentialsUnavailable naming Secret and label, an Event); labelled, it is used; over
//     plain http it is refused unless allowInsecure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Resources, type KubeClient, type KubeObject } from '../../operator/src/kube/index.ts';
import { waitFor } from '../../operator/src/kube/testing/cluster.ts';
import type { StreamJob, StreamJobSpec } from '../../operator/src/api/v1alpha1/streamjob.ts';
import type { DruidDatasource } from '../../operator/src/api/v1alpha1/druiddatasource.ts';
import { StreamJobs } from '../../operator/src/controllers/streamjob/resource.ts';
import { DruidDatasources } from '../../operator/src/controllers/druiddatasource/resource.ts';
import { Rbac } from '../../operator/src/controllers/streamjob/objects/runtime-rbac.ts';
import type { Pod } from '../../operator/src/controllers/streamjob/objects/slot-pod.ts';
import { startOperatorInProcess, type InProcessOperator } from './operator-in-process.ts';

type Event = { reason: string; message: string; involvedObject: { name: string } };
type Conditioned = { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } };

const graph = {
  sources: [{ name: 'gen', datagen: { generator: 'schema', rate: 10, fields: { n: { type: 'sequence' } } } }],
  sinks: [{ name: 'out', from: 'gen', console: {} }],
} as unknown as StreamJobSpec['graph'];

describe('tenancy boundaries (real apiserver, operator controllers in-process)', () => {
  let op: InProcessOperator;
  let kube: KubeClient;
  let ns: string;

  beforeAll(async () => {
    op = await startOperatorInProcess('tenancy', { druidPollMs: 2_000 });
    ({ kube, ns } = op);
  }, 60_000);

  afterAll(async () => {
    await op?.stop();
  });

  const job = (name: string, spec: Partial<StreamJobSpec> = {}) =>
    kube.create<StreamJob>(StreamJobs, {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'StreamJob',
      metadata: { name, namespace: ns },
      spec: {
        replicas: 1,
        graph,
        stateStorage: { pvc: { claimName: name }, path: '/state' },
        savepoints: { onDelete: false },
        ...spec,
      },
    } as unknown as StreamJob);
  const cond = (o: Conditioned, type: string) => o.status?.conditions?.find((c) => c.type === type);
  const pods = async (name: string) =>
    (await kube.list<Pod>(Resources.Pod, ns, { labelSelector: `tributary.dev/job=${name}` })).items;
  const events = async (name: string): Promise<Event[]> =>
    (await kube.list<Event & KubeObject>(Resources.Event, ns)).items.filter((e) => e.involvedObject.name === name);
  const degraded = (name: string, reason: string) =>
    waitFor(
      `${name} Degraded ${reason}`,
      async () => {
        const j = await kube.get<StreamJob>(StreamJobs, ns, name);
        const c = cond(j, 'Degraded');
        return c?.status === 'True' && c.reason === reason ? { job: j, message: c.message } : undefined;
      },
      60_000,
      250,
    );

  it('a planted Role under the runtime Role name is not adopted; the job waits, then runs once it is gone', async () => {
    // The tenant's Role, named as the operator would name the job's: on today's code the
    // operator's create hits AlreadyExists, counts it as its own, and binds the slots to it.
    await kube.create(Rbac.Role, {
      metadata: { name: 'planted-runtime', namespace: ns },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }],
    } as KubeObject);
    await job('planted');
    const { message } = await degraded('planted', 'ForeignObject');
    expect(message).toContain(`Role ${ns}/planted-runtime exists and has no controller`);
    expect(message).toContain('does not adopt objects it did not create');
    expect((await events('planted')).some((e) => e.reason === 'ForeignObject')).toBe(true);
    expect(await pods('planted')).toEqual([]);
    const role = await kube.get<KubeObject & { rules: unknown[] }>(Rbac.Role, ns, 'planted-runtime');
    expect(role.metadata?.ownerReferences ?? []).toEqual([]);
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }]);
    await kube.delete(Rbac.Role, ns, 'planted-runtime');
    await waitFor(
      'planted running with its own Role',
      async () => {
        const j = await kube.get<StreamJob>(StreamJobs, ns, 'planted');
        return j.status?.phase === 'Running' && cond(j, 'Degraded')?.status === 'False' ? j : undefined;
      },
      90_000,
      250,
    );
    const own = await kube.get(Rbac.Role, ns, 'planted-runtime');
    expect(own.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'StreamJob', name: 'planted', controller: true });
  });

  it('a planted Secret under the control-token name is not taken as the token', async () => {
    await kube.create(Resources.Secret, {
      metadata: { name: 'tokenjob-control-token', namespace: ns },
      data: { token: Buffer.from('known-to-the-tenant').toString('base64') },
    } as KubeObject);
    await job('tokenjob');
    const { message } = await degraded('tokenjob', 'ForeignObject');
    expect(message).toContain(`Secret ${ns}/tokenjob-control-token exists and has no controller`);
    expect(await pods('tokenjob')).toEqual([]);
  });

  it('contract env overrides and unlisted service accounts are refused with the field named; nothing deploys', async () => {
    await job('envjob', {
      podTemplate: {
        env: [{ name: 'TRIBUTARY_CONTROL_TOKEN_FILE', value: '/tmp/mine' }],
        serviceAccountName: 'default',
      },
    });
    const { message, job: j } = await degraded('envjob', 'InvalidSpec');
    expect(message).toContain('spec.podTemplate.env[0].name: "TRIBUTARY_CONTROL_TOKEN_FILE" is set by the operator');
    expect(message).toContain('spec.podTemplate.serviceAccountName: "default" is not allowed');
    expect(j.status?.phase).toBe('Invalid');
    expect(await pods('envjob')).toEqual([]);
  });

  const datasource = (name: string, druid: DruidDatasource['spec']['druid']) =>
    kube.create<DruidDatasource>(DruidDatasources, {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'DruidDatasource',
      metadata: { name, namespace: ns },
      spec: {
        druid,
        kafka: { bootstrapServers: '127.0.0.1:1', topic: name },
        timestamp: { column: 'ts', format: 'millis' },
        granularity: { segment: 'HOUR', query: 'MINUTE', rollup: true },
        ingestion: { taskCount: 1, replicas: 1, taskDuration: 'PT1H', useEarliestOffset: true },
        suspend: false,
        deletionPolicy: 'Retain',
      },
    } as unknown as DruidDatasource);
  const synced = (name: string, reason: string) =>
    waitFor(
      `${name} Synced ${reason}`,
      async () => {
        const d = await kube.get<DruidDatasource>(DruidDatasources, ns, name);
        const c = cond(d, 'Synced');
        return c?.reason === reason ? c.message : undefined;
      },
      60_000,
      250,
    );

  it('a DruidDatasource uses a Secret only once it carries tributary.dev/credentials=true, and only over https', async () => {
    await kube.create(Resources.Secret, {
      metadata: { name: 'db-password', namespace: ns },
      data: { username: Buffer.from('app').toString('base64'), password: Buffer.from('s3cret').toString('base64') },
    } as KubeObject);
    // Nothing listens on port 1: once credentials are accepted, the sync fails on Druid instead.
    const ref = { name: 'db-password', usernameKey: 'username', passwordKey: 'password' };
    await datasource('exfil', { url: 'https://127.0.0.1:1', basicAuthSecretRef: ref });
    const refused = await synced('exfil', 'CredentialsUnavailable');
    expect(refused).toContain(`Secret ${ns}/db-password not found with label tributary.dev/credentials: "true"`);
    expect((await events('exfil')).some((e) => e.reason === 'CredentialsUnavailable')).toBe(true);
    await kube.patch(Resources.Secret, ns, 'db-password', {
      metadata: { labels: { 'tributary.dev/credentials': 'true' } },
    });
    await synced('exfil', 'DruidUnavailable');
    await datasource('plain', { url: 'http://127.0.0.1:1', basicAuthSecretRef: ref });
    expect(await synced('plain', 'InsecureCredentials')).toContain('spec.druid.allowInsecure');
    await datasource('plain-ok', { url: 'http://127.0.0.1:1', allowInsecure: true, basicAuthSecretRef: ref });
    await synced('plain-ok', 'DruidUnavailable');
  });
});
