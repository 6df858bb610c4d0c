// StatusResponse.nodes busy and backpressured time per node: a step that burns CPU is the busy
// one, not its neighbours in the chain; an async step's busy time is its capacity in use; every
// node of a chain whose output is full is backpressured as long as the chain is.
import { describe, expect, it } from 'vitest';
import { HoldingSink } from '../testing/holding-sink.ts';
import { StreamEnvironment } from '../api.ts';
import { CollectingSink } from '../connectors/collection/collecting-sink.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { NodeLoad, SlotLoad } from '../control/contract.ts';
import { JobExecutor } from '../job/job-executor.ts';

function burn(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

const byNode = (nodes: readonly NodeLoad[] | undefined) => new Map((nodes ?? []).map((n) => [n.node, n]));

describe('node busy and backpressured time', () => {
  it('a step that burns CPU is the busy one, not the steps chained around it', async () => {
    const env = new StreamEnvironment();
    env
      .fromCollection(Array.from({ length: 200 }, (_, i) => i))
      .map((x) => x + 1, { name: 'cheap' })
      .map(
        (x) => {
          burn(1);
          return x;
        },
        { name: 'burner' },
      )
      .map((x) => x * 2, { name: 'after' })
      .print('out');
    const job = new JobExecutor(validateGraph(env.toGraph()), {
      parallelism: 1,
      batchSize: 20,
      functions: env.functions,
      sinkWriter: () => new CollectingSink(),
    });
    await job.run();
    const st = job.status();
    const nodes = byNode(st.nodes);
    const busy = (n: string) => nodes.get(n)?.busyMs as number;
    // 200 records × 1 ms in `burner` alone.
    expect(busy('burner')).toBeGreaterThanOrEqual(200);
    for (const other of ['cheap', 'after', 'out']) expect(busy(other), other).toBeLessThan(busy('burner') / 5);
    const total = [...nodes.values()].reduce((a, n) => a + (n.busyMs ?? 0), 0);
    expect(total).toBeLessThanOrEqual((st.load as SlotLoad).uptimeMs + 1);
    // Nothing was full: no node was held.
    for (const n of nodes.values()) expect(n.backpressuredMs, n.node).toBeLessThan(50);
  });

  it("an async step's busy time is its capacity in use, while the thread waits", async () => {
    const env = new StreamEnvironment();
    const sleep = (x: number) => new Promise<number>((r) => setTimeout(() => r(x), 20));
    env
      .fromCollection(Array.from({ length: 40 }, (_, i) => i))
      .mapAsync(sleep, { name: 'enrich', capacity: 2 })
      .print('out');
    const job = new JobExecutor(validateGraph(env.toGraph()), {
      parallelism: 1,
      functions: env.functions,
      sinkWriter: () => new CollectingSink(),
    });
    await job.run();
    const st = job.status();
    const load = st.load as SlotLoad;
    const enrich = byNode(st.nodes).get('enrich') as NodeLoad;
    expect(enrich.busyMs).toBe(load.busyMs['enrich']);
    expect((enrich.busyMs as number) / load.uptimeMs).toBeGreaterThan(0.5);
  });

  it('every node of a chain whose sink is full is backpressured as long as the chain', async () => {
    const env = new StreamEnvironment();
    env
      .fromCollection(Array.from({ length: 2000 }, (_, i) => i))
      .map((x) => x + 1, { name: 'plus' })
      .print('held');
    const job = new JobExecutor(validateGraph(env.toGraph()), {
      parallelism: 1,
      batchSize: 100,
      functions: env.functions,
      sinkWriter: () => new HoldingSink(150),
    });
    await job.run();
    const nodes = byNode(job.status().nodes);
    const held = nodes.get('held')?.backpressuredMs as number;
    expect(held).toBeGreaterThan(100);
    for (const n of nodes.values()) expect(n.backpressuredMs, n.node).toBeCloseTo(held, 6);
  });

  it('a job run without node timing reports records only', async () => {
    const env = new StreamEnvironment();
    env
      .fromCollection([1, 2, 3])
      .map((x) => x, { name: 'same' })
      .print('out');
    const job = new JobExecutor(validateGraph(env.toGraph()), {
      parallelism: 1,
      functions: env.functions,
      nodeTiming: false,
      sinkWriter: () => new CollectingSink(),
    });
    await job.run();
    const same = byNode(job.status().nodes).get('same') as NodeLoad;
    expect(same).toMatchObject({ recordsIn: 3, recordsOut: 3 });
    expect(same.busyMs).toBeUndefined();
    expect(same.backpressuredMs).toBeUndefined();
  });
});
