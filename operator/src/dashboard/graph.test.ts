import { describe, expect, it } from 'vitest';
import type { GraphSpec } from '../../../runtime/src/graph/spec.ts';
import { graphOf } from './graph.ts';

const brokers = 'user:secret@127.0.0.1:9092';

describe('graphOf', () => {
  it('gives every source, step and sink with its role and kind, and no connector setting', () => {
    const graph: GraphSpec = {
      sources: [{ name: 'clicks', kafka: { brokers, topic: 'clicks' } }],
      steps: [
        { name: 'valid', from: 'clicks', filter: 'price > 1.0' },
        { name: 'byUser', from: 'valid', keyBy: 'user' },
        { name: 'perMinute', from: 'byUser', window: { tumbling: { size: '1m' }, lateOutput: 'late' } },
        { name: 'counts', from: 'perMinute', aggregate: { n: 'count()' } },
      ],
      sinks: [
        { name: 'out', from: 'counts', kafka: { brokers, topic: 'out' } },
        { name: 'lateOut', from: 'late', console: {} },
      ],
    };
    const g = graphOf(graph);
    expect(g.nodes).toEqual([
      { id: 'clicks', role: 'source', kind: 'kafka' },
      { id: 'valid', role: 'step', kind: 'filter' },
      { id: 'byUser', role: 'step', kind: 'keyBy' },
      { id: 'perMinute', role: 'step', kind: 'window' },
      { id: 'counts', role: 'step', kind: 'aggregate' },
      { id: 'out', role: 'sink', kind: 'kafka' },
      { id: 'lateOut', role: 'sink', kind: 'console' },
    ]);
    expect(g.edges).toEqual([
      { from: 'clicks', to: 'valid', exchange: 'forward' },
      { from: 'valid', to: 'byUser', exchange: 'forward' },
      { from: 'byUser', to: 'perMinute', exchange: 'hash' },
      { from: 'perMinute', to: 'counts', exchange: 'forward' },
      { from: 'counts', to: 'out', exchange: 'forward' },
      // The late stream comes out of the window that emits it.
      { from: 'perMinute', to: 'lateOut', exchange: 'forward' },
    ]);
    expect(JSON.stringify(g)).not.toContain('secret');
  });

  it('draws unions and joins from each input, error outputs from their step, lookup tables as broadcast', () => {
    const g = graphOf({
      sources: [
        { name: 'a', datagen: { generator: 'nexmark' } },
        { name: 'b', datagen: { generator: 'nexmark' } },
        { name: 'users', druid: { url: 'http://druid:8888', query: 'SELECT 1' } },
      ],
      steps: [
        { name: 'both', from: ['a', 'b'], union: {} },
        { name: 'shaped', from: 'both', map: { x: 'x' }, errorOutput: 'bad' },
        { name: 'enriched', from: 'shaped', lookup: { table: 'users', key: 'record.u', column: 'id' } },
      ],
      sinks: [
        { name: 'good', from: 'enriched', console: {} },
        { name: 'dead', from: 'bad', console: {} },
      ],
    } as GraphSpec);
    expect(g.edges).toEqual([
      { from: 'a', to: 'both', exchange: 'forward' },
      { from: 'b', to: 'both', exchange: 'forward' },
      { from: 'both', to: 'shaped', exchange: 'forward' },
      { from: 'shaped', to: 'enriched', exchange: 'forward' },
      { from: 'users', to: 'enriched', exchange: 'broadcast' },
      { from: 'enriched', to: 'good', exchange: 'forward' },
      { from: 'shaped', to: 'dead', exchange: 'forward' },
    ]);
    expect(g.nodes.find((n) => n.id === 'enriched')).toEqual({ id: 'enriched', role: 'step', kind: 'lookup' });
  });

  it('is empty for an application-mode job (no spec.graph)', () => {
    expect(graphOf(undefined)).toEqual({ nodes: [], edges: [] });
  });
});
