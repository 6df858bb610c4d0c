import { describe, expect, it } from 'vitest';
import type { StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';
import { sampleSpec as spec } from './testing/sample-job.ts';
import { validateSpec } from './validation.ts';

describe('spec validation', () => {
  it('reports graph errors with their path', () => {
    expect(validateSpec(spec)).toEqual([]);
    const bad = validateSpec({
      ...spec,
      graph: {
        ...spec.graph,
        sinks: [{ name: 'out', from: 'nope', console: {} }],
      } as unknown as StreamJobSpec['graph'],
    });
    expect(bad[0]?.path).toContain('spec.graph');
  });
});
