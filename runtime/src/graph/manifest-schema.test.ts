// A manifest against its shipped CRD's schema (manifest-schema.ts): what the apiserver would prune or refuse is
// an issue naming its field path; what it keeps (x-kubernetes-preserve-unknown-fields: the graph's nodes, whose
// fields the graph's validator names) is not. The CRDs are the real ones in crds/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { isTributaryError } from '../errors.ts';
import type { Obj } from './checker.ts';
import { checkManifest, manifestIssues, toJsonSchema } from './manifest-schema.ts';

const root = join(import.meta.dirname, '../../..');
const example = (file: string): Obj => parse(readFileSync(join(root, 'crds/examples', file), 'utf8')) as Obj;
const spec = (doc: Obj): Obj => doc['spec'] as Obj;

describe('a manifest against its CRD’s schema', () => {
  it('accepts a shipped StreamJob and DruidDatasource as they are', () => {
    expect(manifestIssues(example('clicks.yaml'))).toEqual([]);
    expect(manifestIssues(example('clicks-ds.yaml'))).toEqual([]);
  });

  it('names an unknown field by its path, at any depth, in spec and metadata', () => {
    const doc = example('clicks.yaml');
    const s = spec(doc);
    s['checkpointng'] = s['checkpointing'];
    delete s['checkpointing'];
    s['autoscaler'] = { enabled: true, maxReplica: 3 };
    (doc['metadata'] as Obj)['lables'] = { a: 'b' };
    expect(manifestIssues(doc)).toEqual([
      { path: 'metadata.lables', message: 'unknown field' },
      { path: 'spec.checkpointng', message: 'unknown field' },
      { path: 'spec.autoscaler.maxReplica', message: 'unknown field' },
    ]);
  });

  it('names wrong types, enums and missing required fields; apiVersion, kind and metadata.name are checked', () => {
    const doc = example('clicks.yaml');
    Object.assign(spec(doc), { replicas: 'two', upgradeMode: 'sometimes' });
    delete spec(doc)['graph'];
    const issues = manifestIssues(doc);
    expect(issues).toContainEqual({ path: 'spec.replicas', message: 'expected integer' });
    expect(issues).toContainEqual({
      path: 'spec.upgradeMode',
      message: 'must be one of savepoint, last-state, stateless',
    });
    expect(manifestIssues({ ...example('clicks.yaml'), apiVersion: 'tributary.dev/v1' })).toEqual([
      { path: 'apiVersion', message: 'expected tributary.dev/v1alpha1, got "tributary.dev/v1"' },
    ]);
    expect(manifestIssues({ ...example('clicks.yaml'), kind: 'StreamJobs' })[0]?.path).toBe('kind');
    expect(manifestIssues({ ...example('clicks.yaml'), metadata: {} })).toEqual([
      { path: 'metadata.name', message: 'required' },
    ]);
  });

  it('keeps what the schema preserves (a connector’s config: its validator names its fields), not the rest', () => {
    const doc = example('clicks.yaml');
    const source = ((spec(doc)['graph'] as Obj)['sources'] as Obj[])[0] as Obj;
    (source['kafka'] as Obj)['topicc'] = 'clicks';
    expect(manifestIssues(doc)).toEqual([]);
    source['bogus'] = 1;
    expect(manifestIssues(doc)).toEqual([{ path: 'spec.graph.sources[0].bogus', message: 'unknown field' }]);
  });

  it('throws TRIB_MANIFEST_INVALID carrying every issue, the first as its path', () => {
    const doc = example('clicks.yaml');
    spec(doc)['checkpointng'] = {};
    const err = (() => {
      try {
        checkManifest(doc, 'job.yaml');
      } catch (e) {
        return e;
      }
    })();
    expect(isTributaryError(err, 'TRIB_MANIFEST_INVALID')).toBe(true);
    if (!isTributaryError(err)) return;
    expect(err.path).toBe('spec.checkpointng');
    expect(err.issues).toEqual([{ path: 'spec.checkpointng', message: 'unknown field' }]);
    expect(err.message).toContain('job.yaml: not a valid StreamJob');
  });

  it('turns the structural schema into JSON Schema: closed objects unless preserved, nullable, int-or-string', () => {
    expect(
      toJsonSchema({
        type: 'object',
        properties: {
          metadata: { type: 'object' },
          a: { type: 'object', properties: { b: { type: 'string', nullable: true } } },
          free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          map: { type: 'object', additionalProperties: { type: 'integer', format: 'int32' } },
          port: { 'x-kubernetes-int-or-string': true, 'x-kubernetes-validations': [{ rule: 'true' }] },
        },
      }),
    ).toMatchObject({
      additionalProperties: false,
      properties: {
        metadata: { additionalProperties: false, properties: { name: { type: 'string' } } },
        a: { additionalProperties: false, properties: { b: { type: ['string', 'null'] } } },
        free: { type: 'object' },
        map: { additionalProperties: { type: 'integer' } },
        port: { anyOf: [{ type: 'integer' }, { type: 'string' }] },
      },
    });
    const free = (toJsonSchema({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }) as Obj)[
      'additionalProperties'
    ];
    expect(free).toBeUndefined();
  });
});
