// A job whose keyed state outgrows its slot's heap, run as users run it (the CLI, a child process
// with NODE_OPTIONS=--max-old-space-size=64): it fails with TRIB_STATE_MEMORY_LIMIT naming the
// limit, in each way slots run, instead of V8's "heap out of memory" abort or a stall in garbage
// collection (exec/heap-limit-watch.ts; threads: process/thread-slot.ts).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
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

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'trib-heap-'));
  writeFileSync(join(dir, 'job.yaml'), JOB);
  return new Promise((resolve) => {
    const p = spawn(
      node,
      ['runtime/src/cli/main.ts', 'run', join(dir, 'job.yaml'), '--no-progress', '--log-level', 'warn', ...args],
      { cwd: root, env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=64' } },
    );
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
  }, 120_000);
});
