import { describe, expect, it } from 'vitest';
import { validateGraph } from '../connectors/validate-graph.ts';
import { loadJobText } from '../graph/load.ts';
import { parseArgs } from './args.ts';
import { resolveRunMode } from './run-mode.ts';

const manifest = (replicas: number, sinkPath: string): string =>
  [
    'apiVersion: tributary.dev/v1alpha1',
    'kind: StreamJob',
    'metadata: {name: m}',
    'spec:',
    `  replicas: ${replicas}`,
    '  graph:',
    '    sources: [{name: g, datagen: {generator: nexmark, count: 10, events: [bid]}}]',
    `    sinks: [{name: out, from: g, file: {path: "${sinkPath}"}}]`,
  ].join('\n');

function mode(replicas: number, sinkPath: string, flags: string[] = []): ReturnType<typeof resolveRunMode> {
  const loaded = loadJobText(manifest(replicas, sinkPath));
  return resolveRunMode(parseArgs(['run', 'm.yaml', ...flags]), loaded, validateGraph(loaded.graph, loaded.graphPath));
}

describe('resolveRunMode', () => {
  it('above parallelism 1 a thread per slot by default; one thread for one slot or on request', () => {
    expect(mode(2, '/tmp/out-{slot}.jsonl')).toEqual({ mode: 'threads', parallelism: 2 });
    expect(mode(2, '/tmp/out-{slot}.jsonl', ['-p', '1'])).toEqual({ mode: 'single-thread', parallelism: 1 });
    expect(mode(1, '/tmp/out-{slot}.jsonl', ['-p', '3'])).toEqual({ mode: 'threads', parallelism: 3 });
    expect(mode(2, '/tmp/out-{slot}.jsonl', ['--single-thread'])).toEqual({ mode: 'single-thread', parallelism: 2 });
    expect(mode(2, '/tmp/out.jsonl', ['--distributed'])).toEqual({ mode: 'processes', parallelism: 2 });
  });

  it('a default run whose file sink has one path stays on one thread and says why; --threads keeps threads (and refuses it later)', () => {
    const r = mode(2, '/tmp/trib-run-mode-none/out.jsonl');
    expect(r).toMatchObject({ mode: 'single-thread', parallelism: 2 });
    expect(r.oneThreadBecause).toBe(
      'sink "out" (spec.graph.sinks[0].file.path) writes one file, /tmp/trib-run-mode-none/out.jsonl, which slots on threads would each overwrite; put {slot} in the path for a thread per slot',
    );
    expect(mode(2, '/tmp/trib-run-mode-none/out.jsonl', ['--threads'])).toEqual({ mode: 'threads', parallelism: 2 });
    // Not a regular file: nothing to overwrite, so threads.
    expect(mode(2, '/dev/null')).toEqual({ mode: 'threads', parallelism: 2 });
  });
});
