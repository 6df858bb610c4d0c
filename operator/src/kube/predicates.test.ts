import { describe, expect, it } from 'vitest';
import { anythingChanged, specOrMetadataChanged } from './predicates.ts';
import type { KubeObject } from './api-resources.ts';

type Job = KubeObject & { spec?: { replicas?: number }; status?: { phase?: string } };

const base: Job = {
  metadata: { name: 'j', namespace: 'n', generation: 3, resourceVersion: '10', labels: { a: '1' } },
  spec: { replicas: 2 },
  status: { phase: 'Running' },
};

describe('update predicates', () => {
  it('specOrMetadataChanged ignores status-only updates and passes spec and metadata changes', () => {
    expect(
      specOrMetadataChanged(base, {
        ...base,
        metadata: { ...base.metadata, resourceVersion: '11' },
        status: { phase: 'Upgrading' },
      }),
    ).toBe(false);
    expect(
      specOrMetadataChanged(base, { ...base, metadata: { ...base.metadata, generation: 4 }, spec: { replicas: 3 } }),
    ).toBe(true);
    expect(specOrMetadataChanged(base, { ...base, metadata: { ...base.metadata, labels: { a: '2' } } })).toBe(true);
    expect(
      specOrMetadataChanged(base, { ...base, metadata: { ...base.metadata, annotations: { restart: 'now' } } }),
    ).toBe(true);
    expect(specOrMetadataChanged(base, { ...base, metadata: { ...base.metadata, finalizers: ['f'] } })).toBe(true);
    expect(
      specOrMetadataChanged(base, {
        ...base,
        metadata: { ...base.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' },
      }),
    ).toBe(true);
    // Without generation tracking nothing is filtered.
    expect(specOrMetadataChanged({ metadata: { name: 'x' } }, { metadata: { name: 'x' } })).toBe(true);
  });

  it('anythingChanged ignores resourceVersion-only updates', () => {
    expect(anythingChanged(base, { ...base, metadata: { ...base.metadata, resourceVersion: '11' } })).toBe(false);
    expect(anythingChanged(base, { ...base, status: { phase: 'Failed' } })).toBe(true);
  });
});
