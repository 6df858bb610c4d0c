// A file sink's path in a run whose slots are separate threads or processes of this machine
// (`tributary run --threads` / `--distributed`, `execute({ threads })`). Each slot opens the
// sink's path with a stream of its own, so without `{slot}` in the path every slot would write
// the same file with no length a checkpoint could record (connectors/file/file-sink.ts). Refused before any
// slot starts, naming the sink (a plain `tributary run -p N`, whose slots would be threads by
// default, runs them on one thread instead: cli/run-mode.ts). In one process the slots share one
// writer, and on Kubernetes each pod writes its own filesystem, so both keep allowing it (a path
// on a volume the pods share is not checked there); so is a path that exists and is not a
// regular file — /dev/null, a FIFO — where nothing is truncated or overwritten.
import { statSync } from 'node:fs';
import { TributaryError } from '../errors.ts';
import type { GraphSpec } from '../graph/spec.ts';

export interface SharedFileSink {
  index: number;
  name: string;
  path: string;
}

/** The file sinks every one of `parallelism` slots on separate threads or processes would write. */
export function sharedFileSinks(graph: GraphSpec, parallelism: number): SharedFileSink[] {
  if (parallelism <= 1) return [];
  return graph.sinks.flatMap((s, index) => {
    const path = s.file?.path;
    if (path === undefined || path.includes('{slot}') || notARegularFile(path)) return [];
    return [{ index, name: s.name, path }];
  });
}

/** Throws TRIB_JOB_CONFIG for the first file sink all `parallelism` slots of `run` would write. */
export function refuseSharedFileSinks(
  graph: GraphSpec,
  parallelism: number,
  run: { command: string; slots: 'threads' | 'processes' },
  graphPath: string,
): void {
  const [first] = sharedFileSinks(graph, parallelism);
  if (!first) return;
  throw new TributaryError(
    'TRIB_JOB_CONFIG',
    `${graphPath}.sinks[${first.index}].file.path: sink "${first.name}" would be written by each of the ${parallelism} ` +
      `slots of ${run.command} (separate ${run.slots} that would ` +
      `overwrite one another's lines in ${first.path}); put {slot} in the path for one file per slot, ` +
      `e.g. ${withSlot(first.path)}`,
  );
}

function notARegularFile(path: string): boolean {
  try {
    return !statSync(path).isFile();
  } catch {
    return false; // not there yet: the sink creates a regular file
  }
}

/** `out.jsonl` → `out-{slot}.jsonl`: the suggestion in the error. */
function withSlot(path: string): string {
  const dot = path.lastIndexOf('.');
  const slash = path.lastIndexOf('/');
  return dot > slash + 1 ? `${path.slice(0, dot)}-{slot}${path.slice(dot)}` : `${path}-{slot}`;
}
