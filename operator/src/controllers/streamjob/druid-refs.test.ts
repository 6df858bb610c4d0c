import { describe, expect, it } from 'vitest';
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import { druidSinkRefs, loadDruidRefs, resolveDruidRefs } from './druid-refs.ts';

const graph = {
  sources: [{ name: 'in', kafka: { brokers: 'b:1', topic: 'clicks' } }],
  sinks: [
    { name: 'out', from: 'in', console: {} },
    { name: 'druid', from: 'in', druid: { datasourceRef: 'clicks-per-country' } },
  ],
};
const dds = (extra: { deletionTimestamp?: string } = {}): DruidDatasource => ({
  apiVersion: 'tributary.dev/v1alpha1',
  kind: 'DruidDatasource',
  metadata: { name: 'clicks-per-country', namespace: 'ns', uid: 'u', ...extra } as DruidDatasource['metadata'],
  spec: {
    kafka: { bootstrapServers: 'k:9092', topic: 'cpc' },
    timestamp: { column: 'ts', format: 'millis' },
  } as DruidDatasource['spec'],
});

describe('druid datasourceRef resolution', () => {
  it('finds the druid sinks with their spec paths', () => {
    expect(druidSinkRefs(graph)).toEqual([
      { index: 1, name: 'clicks-per-country', path: 'spec.graph.sinks[1].druid.datasourceRef' },
    ]);
    expect(druidSinkRefs({ sources: [] })).toEqual([]);
  });

  it('fills druid.kafka and druid.timestamp from the DruidDatasource without touching the spec', () => {
    const { graph: g, issues } = resolveDruidRefs(graph, new Map([['clicks-per-country', dds()]]), 'ns');
    expect(issues).toEqual([]);
    expect((g as typeof graph).sinks[1]).toEqual({
      name: 'druid',
      from: 'in',
      druid: {
        datasourceRef: 'clicks-per-country',
        kafka: { brokers: 'k:9092', topic: 'cpc' },
        timestamp: { column: 'ts', format: 'millis' },
      },
    });
    expect(graph.sinks[1]).toEqual({ name: 'druid', from: 'in', druid: { datasourceRef: 'clicks-per-country' } });
  });

  it('a missing, deleted or topic-less datasource is an issue at the reference', () => {
    expect(resolveDruidRefs(graph, new Map([['clicks-per-country', undefined]]), 'ns').issues).toEqual([
      {
        path: 'spec.graph.sinks[1].druid.datasourceRef',
        message: 'DruidDatasource "clicks-per-country" not found in namespace ns',
      },
    ]);
    expect(
      resolveDruidRefs(
        graph,
        new Map([['clicks-per-country', dds({ deletionTimestamp: '2026-01-01T00:00:00Z' })]]),
        'ns',
      ).issues[0]?.message,
    ).toMatch(/being deleted/);
    const noTopic = dds();
    noTopic.spec.kafka = { bootstrapServers: 'k:9092', topic: '' };
    expect(resolveDruidRefs(graph, new Map([['clicks-per-country', noTopic]]), 'ns').issues[0]?.message).toMatch(
      /no spec.kafka/,
    );
  });

  it('loads each referenced datasource once; 404 = absent, other errors propagate', async () => {
    const calls: string[] = [];
    const kube = {
      get: async (_rt: unknown, _ns: string | undefined, name: string) => {
        calls.push(name);
        throw Object.assign(new Error('not found'), { status: 404, code: 404, reason: 'NotFound' });
      },
    };
    const twice = {
      ...graph,
      sinks: [...graph.sinks, { name: 'd2', from: 'in', druid: { datasourceRef: 'clicks-per-country' } }],
    };
    const m = await loadDruidRefs(kube as never, 'ns', twice);
    expect(calls).toEqual(['clicks-per-country']);
    expect(m.get('clicks-per-country')).toBeUndefined();
    await expect(
      loadDruidRefs(
        {
          get: async () => {
            throw new Error('boom');
          },
        } as never,
        'ns',
        graph,
      ),
    ).rejects.toThrow('boom');
  });
});
