import { describe, expect, it } from 'vitest';
import { KubeApiError, type AdmissionRequest } from '../../kube/index.ts';
import { sampleSpec } from './testing/sample-job.ts';
import { streamJobAdmission, validateStreamJobReview } from './admission.ts';

const notFound = () => new KubeApiError(404, 'not found', { reason: 'NotFound' });
const noLookups = {
  get: async () => {
    throw new Error('no lookup expected');
  },
};
const signal = new AbortController().signal;

const review = (spec: unknown, over: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
  uid: 'u',
  kind: { group: 'tributary.dev', version: 'v1alpha1', kind: 'StreamJob' },
  operation: 'CREATE',
  namespace: 'web',
  name: 'j',
  object: { apiVersion: 'tributary.dev/v1alpha1', kind: 'StreamJob', metadata: { name: 'j', namespace: 'web' }, spec },
  ...over,
});
const withGraph = (graph: unknown) => ({ ...sampleSpec, graph });
const g = sampleSpec.graph as unknown as { sources: unknown[]; sinks: unknown[] };

describe('StreamJob admission', () => {
  it("refuses savepoint state on an emptyDir unless the operator's default gives it a place", async () => {
    const local = { ...sampleSpec, stateStorage: { path: '/state' } };
    const refused = await validateStreamJobReview(review(local), { kube: noLookups }, signal);
    expect(refused.allowed).toBe(false);
    expect(refused.message).toMatch(/spec\.stateStorage: upgradeMode savepoint keeps state across pod replacement/);
    const dflt = { stateStorage: { s3: { bucket: 'state-bucket' }, path: '/state' } };
    expect(await validateStreamJobReview(review(local), { kube: noLookups, defaults: dflt }, signal)).toEqual({
      allowed: true,
      warnings: [],
    });
  });

  it('refuses a bad spec.stateBackend naming each field, and an UPDATE that changes it to a bad one', async () => {
    const bad = { ...sampleSpec, stateBackend: { type: 'heap', cacheEntries: 10 } };
    const v = await validateStreamJobReview(review(bad), { kube: noLookups }, signal);
    expect(v).toEqual({
      allowed: false,
      message:
        'spec.stateBackend.cacheEntries: applies to type disk only (the heap backend has no local volume or cache); set type: disk or drop it',
    });
    const update = review(
      { ...sampleSpec, stateBackend: { type: 'tmpfs' } },
      { operation: 'UPDATE', oldObject: review(sampleSpec).object },
    );
    expect((await validateStreamJobReview(update, { kube: noLookups }, signal)).message).toBe(
      'spec.stateBackend.type: must be heap or disk, got "tmpfs"',
    );
    const disk = { ...sampleSpec, stateBackend: { type: 'disk', localVolumeSize: '50Gi', cacheEntries: 20000 } };
    expect(await validateStreamJobReview(review(disk), { kube: noLookups }, signal)).toEqual({
      allowed: true,
      warnings: [],
    });
  });

  it('admits a valid spec without warnings or lookups', async () => {
    expect(await validateStreamJobReview(review(sampleSpec), { kube: noLookups }, signal)).toEqual({
      allowed: true,
      warnings: [],
    });
    const h = streamJobAdmission({ kube: noLookups });
    expect(h.path).toBe('/validate-streamjob');
    expect(h.kinds).toEqual([{ group: 'tributary.dev', kind: 'StreamJob' }]);
  });

  it('refuses an invalid graph with every field path, as the reconciler would report it', async () => {
    const graph = {
      ...g,
      steps: [{ name: 'm', from: 'gen', map: { x: '1' }, filter: 'true' }],
      sinks: [{ name: 'out', from: 'nope', console: {} }],
    };
    const v = await validateStreamJobReview(review(withGraph(graph)), { kube: noLookups }, signal);
    expect(v.allowed).toBe(false);
    expect(v.message).toMatch(
      /^spec\.graph\.steps\[0\]: expected exactly one step kind \(.*\), got filter and map; spec\.graph\.sinks\[0\]\.from: unknown input "nope"/,
    );
  });

  it('refuses durations the schema pattern lets through and paths escaping the state folder', async () => {
    const spec = {
      ...sampleSpec,
      checkpointing: { ...sampleSpec.checkpointing, interval: '0s' },
      restore: { savepointPath: '../other-job/sp-1' },
    };
    const v = await validateStreamJobReview(review(spec), { kube: noLookups }, signal);
    expect(v.message).toBe(
      'spec.checkpointing.interval: expected a positive duration, got "0s"; spec.restore.savepointPath: must not contain ".."',
    );
  });

  it('refuses a spec.autoscaler the schema lets through, naming the field', async () => {
    const spec = { ...sampleSpec, maxParallelism: 4, autoscaler: { enabled: true, maxReplicas: 6 } };
    const v = await validateStreamJobReview(review(spec), { kube: noLookups }, signal);
    expect(v.allowed).toBe(false);
    expect(v.message).toBe('spec.autoscaler.maxReplicas: must be at most spec.maxParallelism (4), got 6');
  });

  it('keeps long user input in messages bounded and shows at most five issues', async () => {
    const sinks = Array.from({ length: 7 }, (_, i) => ({
      name: `s${i}`,
      from: `missing-${'x'.repeat(2000)}`,
      console: {},
    }));
    const v = await validateStreamJobReview(review(withGraph({ ...g, sinks })), { kube: noLookups }, signal);
    expect(v.allowed).toBe(false);
    expect(v.message!.length).toBeLessThan(5 * 340 + 40);
    expect(v.message).toMatch(/…; .*; and 2 more$/);
  });

  it('admits a druid sink naming a missing DruidDatasource with a warning (the operator waits for it)', async () => {
    const asked: string[] = [];
    const kube = {
      get: async (_rt: unknown, ns: string | undefined, name: string) => {
        asked.push(`${ns}/${name}`);
        throw notFound();
      },
    };
    const graph = { ...g, sinks: [...g.sinks, { name: 'd', from: 'gen', druid: { datasourceRef: 'clicks' } }] };
    const v = await validateStreamJobReview(review(withGraph(graph)), { kube }, signal);
    expect(v).toEqual({
      allowed: true,
      warnings: [
        'spec.graph.sinks[1].druid.datasourceRef: DruidDatasource "clicks" not found in namespace web; the job is not deployed until it resolves',
      ],
    });
    expect(asked).toEqual(['web/clicks']);
  });

  it('a failed or slow lookup is a warning, never a refusal', async () => {
    const graph = { ...g, sinks: [{ name: 'd', from: 'gen', druid: { datasourceRef: 'clicks' } }] };
    const forbidden = {
      get: async () => {
        throw new KubeApiError(403, 'druiddatasources "clicks" is forbidden');
      },
    };
    const v = await validateStreamJobReview(review(withGraph(graph)), { kube: forbidden }, signal);
    expect(v.allowed).toBe(true);
    expect(v.warnings?.[0]).toMatch(
      /^spec\.graph\.sinks: the DruidDatasource references were not checked \(.*forbidden\)$/,
    );
    const hanging = {
      get: (_rt: unknown, _ns: unknown, _n: unknown, o?: { signal?: AbortSignal }) =>
        new Promise<never>((_, reject) =>
          o?.signal?.addEventListener('abort', () => reject(o.signal!.reason as Error)),
        ),
    };
    const abort = new AbortController();
    const pending = validateStreamJobReview(review(withGraph(graph)), { kube: hanging }, abort.signal);
    abort.abort(new Error('deadline'));
    expect((await pending).warnings?.[0]).toContain('not checked (deadline)');
  });

  it('lets an UPDATE through that leaves the spec alone, even an invalid one (finalizers, labels, deletion)', async () => {
    const bad = withGraph({ ...g, sinks: [{ name: 'out', from: 'nope', console: {} }] });
    const old = { metadata: { name: 'j', namespace: 'web' }, spec: bad };
    const update = review(bad, {
      operation: 'UPDATE',
      oldObject: old,
      object: { metadata: { name: 'j', namespace: 'web', finalizers: ['tributary.dev/final-savepoint'] }, spec: bad },
    });
    expect(await validateStreamJobReview(update, { kube: noLookups }, signal)).toEqual({ allowed: true });
    const changed = review(bad, { operation: 'UPDATE', oldObject: { ...old, spec: sampleSpec } });
    expect((await validateStreamJobReview(changed, { kube: noLookups }, signal)).allowed).toBe(false);
  });

  it('refuses an object without a spec; ignores operations other than CREATE and UPDATE', async () => {
    expect(await validateStreamJobReview(review(undefined), { kube: noLookups }, signal)).toEqual({
      allowed: false,
      message: 'spec: required',
    });
    expect(
      await validateStreamJobReview(review(undefined, { operation: 'DELETE' }), { kube: noLookups }, signal),
    ).toEqual({ allowed: true });
  });

  it('refuses a pod template that overrides the contract env or names a service account the install does not allow', async () => {
    const spec = {
      ...sampleSpec,
      podTemplate: { env: [{ name: 'TRIBUTARY_CONTROL_TOKEN_FILE', value: '/x' }], serviceAccountName: 'admin' },
    };
    const v = await validateStreamJobReview(review(spec), { kube: noLookups }, signal);
    expect(v.allowed).toBe(false);
    expect(v.message).toContain('spec.podTemplate.env[0].name: "TRIBUTARY_CONTROL_TOKEN_FILE" is set by the operator');
    expect(v.message).toContain('spec.podTemplate.serviceAccountName: "admin" is not allowed');
    const allowed = { ...spec, podTemplate: { serviceAccountName: 'admin' } };
    const policy = { allowedServiceAccounts: ['admin'] };
    expect(
      (await validateStreamJobReview(review(allowed), { kube: noLookups, podPolicy: policy }, signal)).allowed,
    ).toBe(true);
  });
});
