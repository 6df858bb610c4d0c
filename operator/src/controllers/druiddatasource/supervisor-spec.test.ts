import { describe, expect, it } from 'vitest';
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import { deepMerge, desiredSupervisorSpec, driftedPaths, specHash } from './supervisor-spec.ts';

const ds = (over: Partial<DruidDatasource['spec']> = {}): Pick<DruidDatasource, 'metadata' | 'spec'> => ({
  metadata: { name: 'clicks', namespace: 'default', uid: 'u' },
  spec: {
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
  },
});

describe('desiredSupervisorSpec', () => {
  it('maps the CR onto a Kafka supervisor spec, named after metadata.name by default', () => {
    const spec = desiredSupervisorSpec(ds());
    expect(spec).toMatchObject({
      type: 'kafka',
      spec: {
        dataSchema: {
          dataSource: 'clicks',
          timestampSpec: { column: 'ts', format: 'millis' },
          dimensionsSpec: { dimensions: [{ type: 'string', name: 'country' }] },
          metricsSpec: [
            { type: 'count', name: 'rows' },
            { type: 'longSum', name: 'clicks', fieldName: 'clicks' },
          ],
          granularitySpec: { segmentGranularity: 'HOUR', queryGranularity: 'MINUTE', rollup: true },
        },
        ioConfig: {
          topic: 'clicks',
          consumerProperties: { 'bootstrap.servers': 'k:9092', 'isolation.level': 'read_committed' },
          taskCount: 1,
          taskDuration: 'PT1H',
        },
      },
    });
  });

  it('uses schema discovery when no dimensions are listed', () => {
    const spec = desiredSupervisorSpec(ds({ dimensions: [] }));
    expect((spec.spec.dataSchema as Record<string, unknown>).dimensionsSpec).toEqual({
      dimensions: [],
      useSchemaDiscovery: true,
    });
  });

  it('deep-merges specOverrides last, replacing arrays whole', () => {
    const spec = desiredSupervisorSpec(
      ds({
        dataSource: 'explicit',
        specOverrides: { spec: { tuningConfig: { maxRowsInMemory: 5000 }, ioConfig: { taskCount: 3 } } },
      }),
    );
    expect(spec.spec.tuningConfig).toEqual({ type: 'kafka', maxRowsInMemory: 5000 });
    expect((spec.spec.ioConfig as Record<string, unknown>).taskCount).toBe(3);
    expect((spec.spec.dataSchema as Record<string, unknown>).dataSource).toBe('explicit');
    expect(deepMerge({ a: [1, 2], b: { c: 1 } }, { a: [3], b: { d: 2 } })).toEqual({ a: [3], b: { c: 1, d: 2 } });
  });
});

describe('driftedPaths', () => {
  const desired = desiredSupervisorSpec(ds());

  it('ignores what Druid adds and how it rewrites durations', () => {
    const live = structuredClone(desired) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    live.spec.ioConfig.taskDuration = 'PT3600S';
    live.spec.ioConfig.startDelay = 'PT5S';
    live.spec.dataSchema.dimensionsSpec.dimensions[0].multiValueHandling = 'SORTED_ARRAY';
    live.spec.tuningConfig.maxRowsInMemory = 150000;
    expect(driftedPaths(desired, live)).toEqual([]);
  });

  it('names every owned key that changed', () => {
    const live = structuredClone(desired) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    live.spec.ioConfig.taskCount = 2;
    live.spec.ioConfig.taskDuration = 'PT30M';
    live.spec.dataSchema.dimensionsSpec.dimensions.push({ type: 'string', name: 'page' });
    expect(driftedPaths(desired, live)).toEqual([
      'spec.dataSchema.dimensionsSpec.dimensions',
      'spec.ioConfig.taskCount',
      'spec.ioConfig.taskDuration',
    ]);
  });

  it('treats a missing supervisor as drift of the root', () => {
    expect(driftedPaths(desired, undefined)).toEqual(['(root)']);
  });
});

describe('specHash', () => {
  it('does not depend on key order', () => {
    expect(specHash({ a: 1, b: { c: [1, { d: 2, e: 3 }] } })).toBe(specHash({ b: { c: [1, { e: 3, d: 2 }] }, a: 1 }));
    expect(specHash({ a: 1 })).not.toBe(specHash({ a: 2 }));
  });
});
