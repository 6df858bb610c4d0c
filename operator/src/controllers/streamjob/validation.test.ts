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
    // The exact field and the reason, not any graph error.
    expect(bad).toEqual([{ path: 'spec.graph.sinks[0].from', message: 'unknown input "nope"; expected one of gen' }]);
  });

  it('refuses function steps: a StreamJob has no job code to define them', () => {
    const g = spec.graph as unknown as { sources: { name: string }[]; sinks: { from: string }[] };
    const withFn = {
      ...spec.graph,
      steps: [...(spec.graph.steps ?? []), { name: 'f', from: g.sinks[0]?.from, function: { kind: 'map', ref: 'f' } }],
      sinks: [{ name: 'out', from: 'f', console: {} }],
    } as unknown as StreamJobSpec['graph'];
    const issues = validateSpec({ ...spec, graph: withFn });
    expect(issues.map((i) => i.path)).toEqual([`spec.graph.steps[${spec.graph.steps?.length ?? 0}].function`]);
    expect(issues[0]?.message).toContain("names a function of the job's code");
  });

  it('never lets a StreamJob turn checkpointing off, so an exactly-once sink always has its checkpoints', () => {
    const eos = {
      ...spec.graph,
      sinks: [
        {
          name: 'out',
          from: (spec.graph.sinks[0] as { from: string }).from,
          kafka: { brokers: 'k:9092', topic: 't', delivery: 'exactly-once' },
        },
      ],
    } as unknown as StreamJobSpec['graph'];
    expect(validateSpec({ ...spec, graph: eos })).toEqual([]);
    for (const interval of ['0s', '0ms']) {
      expect(validateSpec({ ...spec, graph: eos, checkpointing: { ...spec.checkpointing, interval } })).toEqual([
        { path: 'spec.checkpointing.interval', message: `expected a positive duration, got "${interval}"` },
      ]);
    }
  });
});
