// StatusResponse.nodes: per node records in and out, counted once per batch where the metrics
// count. Conservation along the graph's edges holds for every node whatever the chaining: what
// enters a node is what its inputs emitted, and the counts match the Prometheus counters.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CollectingSink } from '../connectors/collection/collecting-sink.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { jobStatusSource } from '../job/job-executor-control.ts';
import type { NodeLoad } from '../control/contract.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { JobMetrics } from '../telemetry/metrics.ts';
import { JobExecutor } from '../job/job-executor.ts';

const spec = parse(
  readFileSync(join(import.meta.dirname, '../../test/golden/graphs/nexmark-hot-items.yaml'), 'utf8'),
) as GraphSpec;
const graph = { ...spec, steps: spec.steps ?? [] };

describe('node load', () => {
  it('counts every node of a job, conserved along the edges, as the metrics count', async () => {
    const metrics = new JobMetrics();
    const job = new JobExecutor(validateGraph(spec), {
      parallelism: 2,
      batchSize: 64,
      metrics,
      sinkWriter: () => new CollectingSink(),
    });
    // every node is listed from the start, at zero: the first answer is a reader's baseline
    expect(job.status().nodes?.every((n) => n.recordsIn === 0 && n.recordsOut === 0)).toBe(true);
    await job.run();
    const nodes = jobStatusSource(job, { jobName: 'j', deploymentId: 'd', slot: 0 }).status().nodes as NodeLoad[];
    const by = new Map(nodes.map((n) => [n.node, n]));
    const names = [...graph.sources, ...graph.steps, ...graph.sinks].map((n) => n.name);
    expect([...by.keys()].sort()).toEqual([...names].sort());
    expect(by.get('events')).toMatchObject({ recordsIn: 3000, recordsOut: 3000 });
    const inputs = (n: { from?: string | string[] }) => (n.from === undefined ? [] : [n.from].flat());
    // A window and its aggregate run as one operator; the edge between them is counted all the same.
    for (const n of [...graph.steps, ...graph.sinks]) {
      const fed = inputs(n).reduce((a, i) => a + (by.get(i)?.recordsOut ?? NaN), 0);
      expect(by.get(n.name)?.recordsIn, n.name).toBe(fed);
      expect(fed, n.name).toBeGreaterThan(0);
    }
    for (const window of graph.steps.filter((s) => 'window' in s))
      expect(by.get(window.name)?.recordsOut).toBeGreaterThan(0);
    // The same numbers as the Prometheus counters, where those count the node.
    for (const [metric, field] of [
      [metrics.recordsOut, 'recordsOut'],
      [metrics.recordsIn, 'recordsIn'],
    ] as const) {
      const values = (await metric.get()).values;
      expect(values.length).toBeGreaterThan(3);
      for (const v of values) expect(by.get(String(v.labels.node))?.[field], `${field} ${v.labels.node}`).toBe(v.value);
    }
  });
});
