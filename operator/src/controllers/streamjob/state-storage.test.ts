import { describe, expect, it } from 'vitest';
import type { StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';
import { sampleJob, sampleSpec } from './testing/sample-job.ts';
import { effectiveStateStorage, stateLocation, stateStorageIssues } from './state-storage.ts';
import { specHash } from './spec/hash.ts';
import { stateAccess } from './objects/state-access.ts';

const s3 = { bucket: 'state-bucket', prefix: 'teams/web', endpoint: 'http://127.0.0.1:7070', pathStyle: true };
const withStorage = (stateStorage: unknown, over: Partial<StreamJobSpec> = {}) =>
  ({ ...sampleSpec, stateStorage, ...over }) as StreamJobSpec;

describe('state storage', () => {
  it("uses the spec's place, else the operator default, else an emptyDir", () => {
    const dflt = { stateStorage: { s3: { bucket: 'dflt' }, path: '/state' } };
    expect(effectiveStateStorage(withStorage({ s3, path: '/state' }), dflt)).toMatchObject({ kind: 's3', s3 });
    expect(effectiveStateStorage(withStorage({ pvc: { claimName: 'c' }, path: '/st' }), dflt)).toEqual({
      kind: 'pvc',
      claimName: 'c',
      path: '/st',
      retention: 'Delete',
    });
    expect(effectiveStateStorage(withStorage({ path: '/state' }), dflt)).toMatchObject({
      kind: 's3',
      s3: { bucket: 'dflt' },
    });
    expect(effectiveStateStorage(withStorage({ path: '/state', retention: 'Retain' }), {})).toEqual({
      kind: 'emptyDir',
      emptyDir: {},
      path: '/state',
      retention: 'Retain',
    });
  });

  it('puts each job under <prefix>/<namespace>/<name> of the bucket', () => {
    const job = sampleJob(withStorage({ s3, path: '/state' }));
    expect(stateLocation(job, effectiveStateStorage(job.spec, {}))).toBe('s3://state-bucket/teams/web/n/j');
    const bare = sampleJob(withStorage({ s3: { bucket: 'b12' }, path: '/state' }));
    expect(stateLocation(bare, effectiveStateStorage(bare.spec, {}))).toBe('s3://b12/n/j');
  });

  it('refuses pod-local state for savepoint and last-state jobs, naming the field and the way out', () => {
    for (const upgradeMode of ['savepoint', 'last-state'] as const) {
      const issues = stateStorageIssues(withStorage({ emptyDir: {}, path: '/state' }, { upgradeMode }), {});
      expect(issues).toHaveLength(1);
      expect(issues[0]!.path).toBe('spec.stateStorage');
      expect(issues[0]!.message).toContain(`upgradeMode ${upgradeMode}`);
      expect(issues[0]!.message).toContain('stateStorage.s3');
    }
    expect(stateStorageIssues(withStorage({ path: '/state' }), {})[0]!.message).toContain('no operator default');
    expect(stateStorageIssues(withStorage({ emptyDir: {}, path: '/s' }, { upgradeMode: 'stateless' }), {})).toEqual([]);
    // The operator's default makes a job without a storage block valid.
    expect(stateStorageIssues(withStorage({ path: '/state' }), { stateStorage: { s3, path: '/state' } })).toEqual([]);
  });

  it('names each malformed s3 field', () => {
    const bad = {
      bucket: 'Bad_Bucket',
      prefix: '/abs/../x',
      endpoint: 'ftp://x',
      region: 'Us East',
      requestTimeout: '50ms',
      credentialsSecretRef: { name: 'Not A Name' },
    };
    const paths = stateStorageIssues(withStorage({ s3: bad, pvc: { claimName: 'c' }, path: '/s' }), {}).map(
      (i) => i.path,
    );
    expect(paths).toEqual([
      'spec.stateStorage',
      'spec.stateStorage.s3.bucket',
      'spec.stateStorage.s3.prefix',
      'spec.stateStorage.s3.endpoint',
      'spec.stateStorage.s3.region',
      'spec.stateStorage.s3.requestTimeout',
      'spec.stateStorage.s3.credentialsSecretRef.name',
    ]);
  });

  it('keeps the hash of a job that names its place when an operator default appears; redeploys jobs on the default', () => {
    const own = withStorage({ pvc: { claimName: 'c' }, path: '/state' });
    expect(specHash(own, { image: 'i' })).toBe(specHash(own, { image: 'i', stateStorage: { s3, path: '/state' } }));
    const none = withStorage({ path: '/state' });
    const a = specHash(none, { image: 'i', stateStorage: { s3, path: '/state' } });
    const b = specHash(none, { image: 'i', stateStorage: { s3: { ...s3, bucket: 'other' }, path: '/state' } });
    expect(a).not.toBe(b);
  });

  it('gives s3 slot pods the endpoint and keys by Secret reference, and no state volume', () => {
    const ref = { name: 'creds', accessKeyIdKey: 'id' };
    const access = stateAccess(effectiveStateStorage(withStorage({ s3: { ...s3, credentialsSecretRef: ref } }), {}));
    expect(access.volume).toBeUndefined();
    expect(access.env).toEqual([
      { name: 'TRIBUTARY_S3_ENDPOINT', value: 'http://127.0.0.1:7070' },
      { name: 'TRIBUTARY_S3_PATH_STYLE', value: 'true' },
      { name: 'TRIBUTARY_S3_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'creds', key: 'id' } } },
      {
        name: 'TRIBUTARY_S3_SECRET_ACCESS_KEY',
        valueFrom: { secretKeyRef: { name: 'creds', key: 'secretAccessKey' } },
      },
    ]);
    // The stall bound of every S3 request, in the runtime's milliseconds; absent = the runtime's default.
    expect(
      stateAccess(effectiveStateStorage(withStorage({ s3: { bucket: 'b12', requestTimeout: '1m30s' } }), {})).env,
    ).toEqual([{ name: 'TRIBUTARY_S3_REQUEST_TIMEOUT_MS', value: '90000' }]);
    expect(stateStorageIssues(withStorage({ s3: { bucket: 'b12', requestTimeout: '20s' }, path: '/s' }), {})).toEqual(
      [],
    );
    // Ambient identity: no keys at all, so the SDK's default chain applies.
    expect(stateAccess(effectiveStateStorage(withStorage({ s3: { bucket: 'b12' } }), {})).env).toEqual([]);
  });
});
