import { describe, expect, it } from 'vitest';
import type { StreamJobSpec } from '../../../api/v1alpha1/streamjob.ts';
import { liveRescaleBlocker, rescaleModeOf } from './live-rescale-eligibility.ts';
import { liveSpec } from '../testing/live-rescale-fixtures.ts';
import { sampleSpec } from '../testing/sample-job.ts';

const withSources = (sources: unknown[]): StreamJobSpec =>
  ({ ...liveSpec, graph: { ...liveSpec.graph, sources } }) as unknown as StreamJobSpec;

describe('whether a replicas-only change may rescale live', () => {
  it('savepoint unless the spec says live (the CRD default)', () => {
    expect(rescaleModeOf(sampleSpec)).toBe('savepoint');
    expect(rescaleModeOf({ ...sampleSpec, rescale: { mode: 'savepoint' } })).toBe('savepoint');
    expect(rescaleModeOf(liveSpec)).toBe('live');
  });

  it('a checkpointed job whose every source is an unbounded Kafka source can', () => {
    expect(liveRescaleBlocker(liveSpec, 3)).toBeUndefined();
    expect(liveRescaleBlocker(liveSpec, 128)).toBeUndefined();
  });

  it('names each reason it cannot', () => {
    expect(liveRescaleBlocker(liveSpec, 129)).toBe('replicas 129 is above maxParallelism 128');
    expect(liveRescaleBlocker(sampleSpec, 3)).toBe(
      'source gen is a datagen source (it stripes its records by parallelism)',
    );
    const kafka = { name: 'in', kafka: { brokers: 'k:9092', topic: 'in' } };
    expect(liveRescaleBlocker(withSources([kafka, { name: 'f', file: { path: '/x' } }]), 3)).toBe(
      'source f is a file source (it stripes its lines by parallelism)',
    );
    expect(liveRescaleBlocker(withSources([{ name: 'c', collection: { records: [] } }]), 3)).toMatch(/collection/);
    expect(liveRescaleBlocker(withSources([{ name: 'k', kudu: { masters: 'm', table: 't' } }]), 3)).toBe(
      'source k is a kudu source (it scans its tablets per slot)',
    );
    expect(liveRescaleBlocker(withSources([{ name: 'd', druid: { url: 'u', query: 'q' } }]), 3)).toMatch(/druid/);
    expect(liveRescaleBlocker(withSources([{ ...kafka, kafka: { ...kafka.kafka, bounded: 'latest' } }]), 3)).toBe(
      'source in is a bounded Kafka source (it ends)',
    );
    expect(liveRescaleBlocker({ ...liveSpec, checkpointing: { ...liveSpec.checkpointing, interval: '0s' } }, 3)).toBe(
      'checkpointing is off',
    );
    const timed = { ...kafka, timestamp: { field: 'ts', format: 'millis' } };
    expect(liveRescaleBlocker(withSources([timed]), 3), 'a moved partition carries its watermark').toBeUndefined();
    const app = { ...liveSpec, graph: undefined, job: { module: '/app/job.js' } } as unknown as StreamJobSpec;
    expect(liveRescaleBlocker(app, 3)).toBe('an application-mode job: the operator cannot see its sources');
  });
});
