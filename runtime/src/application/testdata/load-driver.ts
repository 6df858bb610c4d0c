// Test driver (a process of its own, as a slot is): loads the job module named by argv[2] as a
// slot does, runs the submitted job at parallelism 2 and prints one JSON line: what each sink
// received, or the error's code and message.
import { loadJobModule } from '../job-module.ts';
import { validateGraph } from '../../connectors/validate-graph.ts';
import { JobExecutor } from '../../job/job-executor.ts';
import { isTributaryError } from '../../errors.ts';
import { CollectingSink, type Emitted } from '../../connectors/collection/collecting-sink.ts';

const fail = (e: unknown): never => {
  process.stdout.write(
    `${JSON.stringify({ code: isTributaryError(e) ? e.code : 'OTHER', message: (e as Error).message })}\n`,
  );
  process.exit(1);
};

try {
  const job = await loadJobModule(process.argv[2] as string, fail);
  const graph = validateGraph(job.graph);
  const out = new Map<string, Emitted[]>(graph.spec.sinks.map((s) => [s.name, []]));
  await new JobExecutor(graph, {
    parallelism: 2,
    functions: job.functions,
    sinkWriter: (s) => new CollectingSink(out.get(s.name)),
  }).run();
  const sinks = Object.fromEntries([...out].map(([k, v]) => [k, v.map((e) => e.rec)]));
  process.stdout.write(`${JSON.stringify({ sinks, functions: [...job.functions.keys()] })}\n`);
  process.exit(0);
} catch (e) {
  fail(e);
}
