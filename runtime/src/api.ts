// Public entry point for programs: build a graph with the DataStream API and run it in
// this process.
//
//   const env = new StreamEnvironment();
//   env.fromCollection([{ user: 'a', n: 1 }], { timestamp: ... })
//      .keyBy('user').window({ tumbling: { size: '1m' } }).aggregate({ n: 'count()' })
//      .toConsole();
//   await env.execute({ parallelism: 2 });
import { GraphBuilder } from './graph/datastream.ts';
import { validateGraph } from './connectors/validate-graph.ts';
import { JobExecutor } from './exec/job-executor.ts';
import type { JobExecutorOptions } from './exec/job-options.ts';
import type { JobResult } from './exec/job-status.ts';
import { CollectingSink, type Emitted } from './testing/harness.ts';

export { DataStream, KeyedStream, WindowedStream } from './graph/datastream.ts';
export type { GraphSpec } from './graph/spec.ts';
export { validateGraph } from './connectors/validate-graph.ts';
export { JobExecutor } from './exec/job-executor.ts';

export class StreamEnvironment extends GraphBuilder {
  /** Validates the graph (throws TRIB_GRAPH_INVALID with paths) and runs it to the end. */
  async execute(opts: Partial<JobExecutorOptions> = {}): Promise<JobResult> {
    const graph = validateGraph(this.toGraph());
    return new JobExecutor(graph, { parallelism: 1, ...opts }).run();
  }

  /** Runs the graph and returns what each sink received, in memory (sinks are not written). */
  async executeAndCollect(opts: Partial<JobExecutorOptions> = {}): Promise<Map<string, Emitted[]>> {
    const graph = validateGraph(this.toGraph());
    const results = new Map<string, Emitted[]>();
    for (const s of graph.spec.sinks) results.set(s.name, []);
    await new JobExecutor(graph, {
      parallelism: 1,
      ...opts,
      sinkWriter: (spec) => new CollectingSink(results.get(spec.name)),
    }).run();
    return results;
  }
}
