// StatusResponse.nodes: per node records in and out, counted once per batch where the metrics
// count. Conservation along the graph's edges holds for every node whatever the chaining: what
// enters a node is what its inputs emitted, and the counts match the Prometheus counters. A
// stateful step's keyed state (NodeLoad.keyedState) is read from its backends, summed over slots.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CollectingSink } from '../connectors/collection/collecting-sink.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { jobStatusSource } from '../job/job-executor-control.ts';
import type { NodeLoad } from '../control/contract.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { JobMetrics } from '../telemetry/metrics.ts';
import { JobExecutor } from '../job/job-executor.ts';
import { processNodeLoad, NodeCounters, type NodeLoadedSlot } from './node-load.ts';
import type { StatefulOperator } from '../operators/types.ts';
import type { Slot } from './slot.ts';

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

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** 50 distinct keys through a rolling count, a final checkpoint at the end of input. */
function keyedJob(stateBackend: 'heap' | 'disk'): JobExecutor {
  const dir = mkdtempSync(join(tmpdir(), 'node-state-'));
  dirs.push(dir);
  const keyed: GraphSpec = {
    sources: [
      {
        name: 'in',
        datagen: {
          generator: 'schema',
          seed: 1,
          count: 500,
          fields: { id: { type: 'sequence' }, g: { type: 'int', min: 0, max: 49 } },
        },
      },
    ],
    steps: [
      { name: 'k', from: 'in', keyBy: 'g' },
      { name: 'counts', from: 'k', aggregate: { c: 'count()' } },
    ],
    sinks: [{ name: 'out', from: 'counts', console: {} }],
  } as unknown as GraphSpec;
  return new JobExecutor(validateGraph(keyed), {
    parallelism: 2,
    sinkWriter: () => new CollectingSink(),
    checkpointing: { stateDir: join(dir, 'ck'), intervalMs: 0, timeoutMs: 10_000 },
    ...(stateBackend === 'disk' ? { stateBackend: { kind: 'disk', dir: join(dir, 'local') } } : {}),
  });
}

describe('node keyed state', () => {
  it.each(['heap', 'disk'] as const)(
    'reports a stateful step’s keys and last full snapshot, summed over the slots (%s)',
    async (backend) => {
      const job = keyedJob(backend);
      await job.run();
      const nodes = job.status().nodes ?? [];
      const counts = nodes.find((n) => n.node === 'counts');
      expect(counts?.keyedState).toMatchObject({ backend, keys: 50 });
      expect(counts?.keyedState?.fullSnapshotBytes).toBeGreaterThan(50);
      // the disk numbers only with the disk backend (its stores are closed at the end: no files left)
      expect(counts?.keyedState?.localBytes !== undefined).toBe(backend === 'disk');
      expect(counts?.keyedState?.cachedEntries !== undefined).toBe(backend === 'disk');
      // steps without keyed state report none
      for (const n of nodes.filter((x) => x.node !== 'counts')) expect(n.keyedState, n.node).toBeUndefined();
    },
  );

  it('sums every figure of a step over the slots, and leaves out a size none wrote yet', () => {
    const slot = (index: number, b: { keys: number; full: number; delta: number; local?: [number, number] }) => {
      const keyedBackend = {
        keyCount: () => b.keys,
        written: { full: b.full, delta: b.delta },
        onDisk: b.local !== undefined,
        localStats: () => (b.local ? { localBytes: b.local[0], cachedEntries: b.local[1] } : undefined),
      };
      return {
        slot: { index, load: { busyMs: () => ({}) } } as unknown as Slot,
        nodeCounters: new NodeCounters(false),
        sources: [],
        stateful: [{ stateName: 'agg', keyedBackend } as unknown as StatefulOperator],
        sinks: [],
      } satisfies NodeLoadedSlot;
    };
    const disk = processNodeLoad([
      slot(0, { keys: 3, full: 100, delta: 0, local: [4096, 2] }),
      slot(1, { keys: 4, full: 0, delta: 7, local: [8192, 3] }),
    ]);
    expect(disk).toEqual([
      {
        node: 'agg',
        recordsIn: 0,
        recordsOut: 0,
        keyedState: {
          backend: 'disk',
          keys: 7,
          fullSnapshotBytes: 100,
          deltaBytes: 7,
          localBytes: 12288,
          cachedEntries: 5,
        },
      },
    ]);
    const heap = processNodeLoad([slot(0, { keys: 2, full: 0, delta: 0 })]);
    expect(heap?.[0]?.keyedState).toEqual({ backend: 'heap', keys: 2 });
  });
});
