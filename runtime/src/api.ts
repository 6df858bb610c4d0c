// Public entry point for programs (the package's "." export): build a graph with the
// DataStream API — TypeScript functions or CEL — and run it in this process.
//
//   const env = new StreamEnvironment();
//   env.fromCollection([1, 2, 3, 4]).map((x) => x * 2).print();
//   await env.execute();
import { applicationHost } from './application/host.ts';
import { runOnThreads, type ThreadRunOptions } from './application/thread-run.ts';
import { refuseSharedFileSinks } from './process/shared-file-sinks.ts';
import { TributaryError } from './errors.ts';
import { GraphBuilder } from './graph/graph-builder.ts';
import { validateGraph } from './connectors/validate-graph.ts';
import { JobExecutor } from './job/job-executor.ts';
import type { JobExecutorOptions } from './exec/job-options.ts';
import type { JobResult } from './exec/job-status.ts';
import { CollectingSink, type Emitted } from './connectors/collection/collecting-sink.ts';

export {
  DataStream,
  KeyedStream,
  WindowedStream,
  type AsyncStepOptions,
  type CelStepOptions,
  type ErrorRecord,
  type StepOptions,
} from './graph/datastream.ts';
export type { Rec } from './core/record.ts';
export { GraphBuilder, type SourceOptions } from './graph/graph-builder.ts';
export * from './graph/descriptors.ts';
export type * from './graph/function-types.ts';
export type { GraphSpec, WindowSpec } from './graph/spec.ts';
export type { JobExecutorOptions } from './exec/job-options.ts';
export type { ThreadRunOptions } from './application/thread-run.ts';

/**
 * Options of `execute()`: the executor's, and `threads` — run each slot on its own worker
 * thread (one core per slot; `true` or ThreadRunOptions) instead of all slots on this thread.
 */
export type ExecuteOptions = Partial<JobExecutorOptions> & { threads?: boolean | ThreadRunOptions };
export type { JobResult } from './exec/job-status.ts';
export { TributaryError, isTributaryError } from './errors.ts';
export { validateGraph } from './connectors/validate-graph.ts';
export { JobExecutor } from './job/job-executor.ts';

export class StreamEnvironment extends GraphBuilder {
  /**
   * Validates the graph (throws TRIB_GRAPH_INVALID with paths) and runs it to the end. In a
   * StreamJob's slot (application mode) it hands the job to the slot instead and never returns:
   * the cluster decides parallelism, checkpointing and restores, `opts` are ignored there.
   * With `threads`, every slot runs on a worker thread that imports this program as its job
   * module (application/thread-run.ts), with checkpoints and restarts as `tributary run --threads`.
   */
  async execute(opts: ExecuteOptions = {}): Promise<JobResult> {
    const host = applicationHost();
    if (host) return host.submit(validateGraph(this.toGraph()).spec, this.functions);
    const { threads, ...exec } = opts;
    // Validated here in either case: an invalid graph fails before any slot thread starts.
    const graph = validateGraph(this.toGraph());
    if (threads) {
      refuseSharedFileSinks(
        graph.spec,
        exec.parallelism ?? 1,
        { command: 'execute({ threads })', slots: 'threads' },
        'graph',
      );
      return runOnThreads(exec, threads === true ? {} : threads);
    }
    return new JobExecutor(graph, { parallelism: 1, functions: this.functions, ...exec }).run();
  }

  /** Runs the graph and returns what each sink received, in memory (sinks are not written). */
  async executeAndCollect(opts: Partial<JobExecutorOptions> = {}): Promise<Map<string, Emitted[]>> {
    const host = applicationHost();
    if (host)
      throw new TributaryError(
        'TRIB_JOB_MODULE',
        `job module ${host.module} calls executeAndCollect(), which runs in memory; a StreamJob's module must call execute()`,
      );
    const graph = validateGraph(this.toGraph());
    const results = new Map<string, Emitted[]>();
    for (const s of graph.spec.sinks) results.set(s.name, []);
    await new JobExecutor(graph, {
      parallelism: 1,
      functions: this.functions,
      ...opts,
      sinkWriter: (spec) => new CollectingSink(results.get(spec.name)),
    }).run();
    return results;
  }
}
