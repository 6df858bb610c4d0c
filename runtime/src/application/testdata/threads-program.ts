// A program that runs its job on worker threads (`execute({ threads })`), as a user's would:
// numbers → a function map → keyBy → a running sum (reduce) → a map that stamps the thread it
// ran on → one file per slot. argv: output folder, state folder, [module override]. Prints the
// JobResult as one JSON line when the run ends.
import { threadId } from 'node:worker_threads';
import { StreamEnvironment } from '../../api.ts';

const [out, state, module] = process.argv.slice(2) as [string, string, string | undefined];
const env = new StreamEnvironment();
env
  .fromCollection(Array.from({ length: 5000 }, (_, i) => i))
  .map((i) => ({ k: `k${i % 13}`, v: i }))
  .keyBy('k')
  .reduce((a, b) => ({ k: a.k, v: a.v + b.v }))
  .map((r) => ({ ...r, thread: threadId }))
  .toFile(`${out}/part-{slot}.jsonl`);
const result = await env.execute({
  parallelism: 2,
  jobName: 'threads-program',
  checkpointing: { stateDir: state, intervalMs: 1000 },
  threads: module ? { module } : true,
});
process.stdout.write(`${JSON.stringify(result)}\n`);
