// A job whose keyed state outgrows its slot's heap, run as users run it (the CLI, a child process
// with NODE_OPTIONS=--max-old-space-size=64): it fails with TRIB_STATE_MEMORY_LIMIT naming the
// limit, in each way slots run, instead of V8's "heap out of memory" abort or a stall in garbage
// collection (exec/heap-limit-watch.ts; threads: process/thread-slot.ts).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const node = join(root, 'node_modules/.bin/node');

// A new key per record into a rolling count: its state grows without bound; nothing is output.
const JOB = `sources:
  - name: gen
    datagen: { generator: schema, seed: 1, fields: { id: { type: sequence } } }
steps:
  - { name: by-id, from: gen, keyBy: id }
  - { name: counts, from: by-id, aggregate: { n: 'count()' } }
  - { name: repeated, from: counts, filter: 'n > 1' }
sinks:
  - { name: out, from: repeated, console: {} }
`;

/**
 * A memory cgroup limited to `bytes`, as a pod's memory limit is (v1 or v2), when this machine lets
 * us make one (root, a writable cgroup tree); undefined otherwise.
 */
function memoryCgroup(bytes: number): { procs: string; remove(): void } | undefined {
  const [dir, limitFile] = existsSync('/sys/fs/cgroup/memory/cgroup.procs')
    ? [`/sys/fs/cgroup/memory/tributary-heap-${process.pid}`, 'memory.limit_in_bytes']
    : [`/sys/fs/cgroup/tributary-heap-${process.pid}`, 'memory.max'];
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, limitFile), String(bytes));
    return { procs: join(dir, 'cgroup.procs'), remove: () => rmdirSync(dir) };
  } catch {
    return undefined;
  }
}

function run(
  args: string[],
  o: { nodeOptions?: string; cgroupProcs?: string } = { nodeOptions: '--max-old-space-size=64' },
): Promise<{ code: number | null; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'trib-heap-'));
  writeFileSync(join(dir, 'job.yaml'), JOB);
  const argv = [
    'runtime/src/cli/main.ts',
    'run',
    join(dir, 'job.yaml'),
    '--no-progress',
    '--log-level',
    'warn',
    ...args,
  ];
  const env = { ...process.env, NODE_OPTIONS: o.nodeOptions ?? '' };
  return new Promise((resolve) => {
    // In a cgroup: the shell moves itself in, then becomes the runtime (as a pod's container starts).
    const p = o.cgroupProcs
      ? spawn('sh', ['-c', `echo $$ > ${o.cgroupProcs} && exec "$@"`, 'sh', node, ...argv], { cwd: root, env })
      : spawn(node, argv, { cwd: root, env });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => resolve({ code, out }));
  });
}

describe('a job whose state outgrows the heap', () => {
  it.each([
    ['one thread', ['--single-thread']],
    ['a process per slot', ['--parallelism', '2', '--distributed', '--max-restarts', '0']],
  ])(
    'fails with TRIB_STATE_MEMORY_LIMIT naming the limit (%s)',
    async (_, args) => {
      const r = await run([...args, '--state-dir', mkdtempSync(join(tmpdir(), 'trib-heap-state-'))]);
      expect(r.code, r.out.slice(-2000)).toBe(1);
      expect(r.out).toMatch(
        /error TRIB_STATE_MEMORY_LIMIT: the heap's old generation holds \d+ MiB after full garbage collections, \d+% of its limit of 64 MiB \(--max-old-space-size=64\); keyed state: [\d,]+ keys in step counts/,
      );
      expect(r.out).not.toContain('FATAL ERROR');
    },
    120_000,
  );

  // A pod's memory limit is a cgroup's: V8 sizes its heap from it (half of it for the old generation).
  const probe = memoryCgroup(512 * 1024 * 1024);
  probe?.remove();
  it.skipIf(probe === undefined)(
    'in a container limited to 512 MiB, fails naming the limit V8 derived from it (a pod with a memory limit)',
    async () => {
      const cgroup = memoryCgroup(512 * 1024 * 1024);
      try {
        const r = await run(
          ['--single-thread', '--state-dir', mkdtempSync(join(tmpdir(), 'trib-heap-state-'))],
          // The slot flags of a pod (process/slot-node-flags.ts), nothing about the old generation.
          { nodeOptions: '--max-semi-space-size=8', cgroupProcs: cgroup?.procs as string },
        );
        expect(r.code, r.out.slice(-2000)).toBe(1);
        expect(r.out).toMatch(
          /error TRIB_STATE_MEMORY_LIMIT: .* of its limit of 256 MiB \(V8's default for the container's memory limit of 512 MiB\)/,
        );
      } finally {
        cgroup?.remove();
      }
    },
    120_000,
  );

  it('a slot thread ended by Node at its heap limit is reported as TRIB_STATE_MEMORY_LIMIT, naming the limit', async () => {
    const r = await run([
      '--parallelism',
      '2',
      '--max-restarts',
      '0',
      '--state-dir',
      mkdtempSync(join(tmpdir(), 'trib-heap-state-')),
    ]);
    expect(r.code, r.out.slice(-2000)).toBe(1);
    expect(r.out).toMatch(
      /"code":"TRIB_STATE_MEMORY_LIMIT","err":"slot \d: its thread reached its heap limit of \d+ MiB \(old and young generation; --max-old-space-size=64\)/,
    );
    // The run's last line says why, not only "exited with code 1".
    expect(r.out).toMatch(
      /last failure: slot \d exited with code 1 \(TRIB_STATE_MEMORY_LIMIT: slot \d: its thread reached its heap limit/,
    );
  }, 120_000);
});
