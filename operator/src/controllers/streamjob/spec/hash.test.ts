// The deployment hash decides what needs new pods: in application mode the job module (with
// the image) stands where the graph does, so a new module or image is an upgrade, while a
// graph job's hash is what it was before the job field existed (no spurious upgrades).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { StreamJobSpec } from '../../../api/v1alpha1/streamjob.ts';
import { SPEC_FIELDS, specFields, type SpecFieldTable } from './fields.ts';
import { shapeHash, specHash } from './hash.ts';
import { sampleSpec } from '../testing/sample-job.ts';

const defaults = { image: 'tributary/runtime:dev' };
const app = (module: string, image?: string): StreamJobSpec => {
  const { graph: _g, ...rest } = sampleSpec;
  void _g;
  return { ...rest, job: { module }, ...(image ? { image } : {}) };
};

describe('spec hash', () => {
  it('changes with the job module and the image, and a rescale keeps the shape', () => {
    const v1 = app('/app/jobs/clicks/v1.ts');
    expect(specHash(v1, defaults)).not.toBe(specHash(app('/app/jobs/clicks/v2.ts'), defaults));
    expect(specHash(v1, defaults)).not.toBe(specHash(app('/app/jobs/clicks/v1.ts', 'clicks:2'), defaults));
    expect(specHash(v1, defaults)).toBe(specHash(app('/app/jobs/clicks/v1.ts'), defaults));
    const rescaled = { ...v1, replicas: v1.replicas + 1 };
    expect(specHash(rescaled, defaults)).not.toBe(specHash(v1, defaults));
    expect(shapeHash(rescaled, defaults)).toBe(shapeHash(v1, defaults));
    expect(shapeHash(app('/app/jobs/clicks/v2.ts'), defaults)).not.toBe(shapeHash(v1, defaults));
  });

  it('redeploys for a change of state backend, never for writing down its defaults', () => {
    const hash = (stateBackend: unknown) =>
      specHash({ ...sampleSpec, stateBackend } as unknown as StreamJobSpec, defaults);
    const none = specHash(sampleSpec, defaults);
    expect(hash(undefined)).toBe(none);
    expect(hash({})).toBe(none);
    expect(hash({ type: 'heap' })).toBe(none);
    const disk = hash({ type: 'disk' });
    expect(disk).not.toBe(none);
    expect(hash({ type: 'disk', localVolumeSize: '10Gi' })).toBe(disk);
    expect(hash({ type: 'disk', localVolumeSize: '20Gi' })).not.toBe(disk);
    expect(hash({ type: 'disk', cacheEntries: 5000 })).not.toBe(disk);
    const sb = { ...sampleSpec, stateBackend: { type: 'disk' } } as StreamJobSpec;
    expect(shapeHash(sb, defaults)).not.toBe(shapeHash(sampleSpec, defaults));
  });

  it('leaves a graph job’s hash as it was without the job field', () => {
    const withUndefined = { ...sampleSpec, job: undefined } as StreamJobSpec;
    expect(specHash(withUndefined, defaults)).toBe(specHash(sampleSpec, defaults));
  });
});

// Every field set, so that each one reaches the hash if it is hashed at all.
const full = {
  ...sampleSpec,
  image: 'clicks:7',
  restartNonce: 2,
  savepointNonce: 3,
  restore: { savepointPath: 's3://b/sp-1', allowNonRestoredState: true },
  initialState: 'empty',
  stateStorage: {
    s3: { bucket: 'state', prefix: 'jobs', endpoint: 'http://127.0.0.1:9000', pathStyle: true },
    path: '/state',
    retention: 'Retain',
  },
  savepoints: { ...sampleSpec.savepoints, interval: '1h' },
  restartPolicy: { ...sampleSpec.restartPolicy, window: '10m' },
  podTemplate: {
    metadata: { labels: { team: 'a' } },
    resources: { limits: { memory: '1Gi' } },
    nodeSelector: { disk: 'ssd' },
  },
} as StreamJobSpec;
// Application mode with an empty image and no place of its own: the defaults stand in.
const bare = (() => {
  const { graph: _g, ...rest } = sampleSpec;
  void _g;
  return { ...rest, image: '', stateStorage: { path: '/state' }, job: { module: '/app/job.ts' } } as StreamJobSpec;
})();
const withStorage = { ...defaults, stateStorage: { s3: { bucket: 'default' }, path: '/state' } };

describe('spec fields', () => {
  it('hash exactly as before the table: an operator upgrade redeploys no running job', () => {
    // Values computed by deploymentSpecOf as an allow-list (commit 5716d25), before fields.ts.
    expect(specHash(full, defaults)).toBe('41f1bcd2b79ef44f');
    expect(shapeHash(full, defaults)).toBe('f62787cbe01e653e');
    expect(specHash(bare, withStorage)).toBe('1bcf633fe36d8e2d');
    expect(shapeHash(bare, withStorage)).toBe('72c83939b9b6c9e0');
    expect(specHash(bare, defaults)).toBe('c1878e5d54c358f6');
  });

  it.each(specFields)('%s: a change does what its class says', (field) => {
    const changed = { ...full, [field]: { changed: field } } as unknown as StreamJobSpec;
    const cls = SPEC_FIELDS[field];
    const hashed = cls === 'redeploy' || cls === 'rescale';
    expect(specHash(changed, defaults) !== specHash(full, defaults)).toBe(hashed);
    expect(shapeHash(changed, defaults) !== shapeHash(full, defaults)).toBe(cls === 'redeploy');
  });

  it('classifies every field of the CRD’s spec, and no other', () => {
    const crd = parse(
      readFileSync(new URL('../../../../../crds/streamjobs.tributary.dev.yaml', import.meta.url), 'utf8'),
    );
    const props = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties as Record<string, unknown>;
    expect([...specFields].sort()).toEqual(Object.keys(props).sort());
  });

  it('refuses, at compile time, a spec key the table does not classify', () => {
    // tsc checks this file: were the table's type not exhaustive, the directive below would be unused and fail.
    // @ts-expect-error 'added' is not classified
    const unclassified: SpecFieldTable<StreamJobSpec & { added?: string }> = SPEC_FIELDS;
    expect(Object.keys(unclassified)).not.toContain('added');
  });
});
