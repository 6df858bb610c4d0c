// Where `tributary run` puts its slots. A job of parallelism N > 1 runs a worker_thread per
// slot by default (`threads`: the slot pods' code, TCP data plane on loopback, checkpoints into
// the state directory, restarts from them: docs/runtime/threads.md), so it can use N cores;
// `--single-thread` keeps every slot on this process's one event loop, as does parallelism 1
// (one slot: a thread would add start-up and nothing else). `--distributed` is a process per
// slot. One default case runs on one thread instead, and says why: a file sink without `{slot}`
// in its path, which slots on threads would each overwrite (process/shared-file-sinks.ts); an
// explicit `--threads` or `--distributed` refuses it instead.
import type { LoadedJob } from '../graph/load.ts';
import type { ValidatedGraph } from '../graph/validated-graph.ts';
import { sharedFileSinks } from '../process/shared-file-sinks.ts';
import type { RunArgs } from './args.ts';

export type RunMode = 'single-thread' | 'threads' | 'processes';

export interface ResolvedRunMode {
  mode: RunMode;
  parallelism: number;
  /** Why a default run of parallelism > 1 stays on one thread (logged). */
  oneThreadBecause?: string;
}

export function resolveRunMode(args: RunArgs, loaded: LoadedJob, graph: ValidatedGraph): ResolvedRunMode {
  const parallelism = args.parallelism ?? loaded.replicas ?? 1;
  if (args.distributed) return { mode: 'processes', parallelism };
  if (args.threads) return { mode: 'threads', parallelism };
  if (args.singleThread || parallelism === 1) return { mode: 'single-thread', parallelism };
  const [shared] = sharedFileSinks(graph.spec, parallelism);
  if (shared)
    return {
      mode: 'single-thread',
      parallelism,
      oneThreadBecause: `sink "${shared.name}" (${loaded.graphPath}.sinks[${shared.index}].file.path) writes one file, ${shared.path}, which slots on threads would each overwrite; put {slot} in the path for a thread per slot`,
    };
  return { mode: 'threads', parallelism };
}
