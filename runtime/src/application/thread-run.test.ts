// `execute({ parallelism: 2, threads: true })` as a user's program calls it, in a process of its
// own (testdata/threads-program.ts): the job's functions run on two slot threads (not the main
// thread), the keyed running sums cross between them over the data plane and end exactly as
// the input's sums, each record is written once, and the result counts them. Options that only
// make sense in this thread, and a job module that is not a file, are refused naming them.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StreamEnvironment } from '../api.ts';
import { CollectingSink } from '../testing/harness.ts';
import { runOnThreads } from './thread-run.ts';

const program = join(import.meta.dirname, 'testdata/threads-program.ts');
const dir = mkdtempSync(join(tmpdir(), 'trib-thread-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [program, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('execute({ threads })', () => {
  it('runs the program on one worker thread per slot; output and result as an in-process run', async () => {
    const out = join(dir, 'out');
    const r = await run([out, join(dir, 'state')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out.trim().split('\n').pop() ?? '') as Record<string, unknown>;
    expect(result).toMatchObject({ state: 'FINISHED', recordsIn: 5000, recordsOut: 5000 });

    expect(readdirSync(out).sort()).toEqual(['part-0.jsonl', 'part-1.jsonl']);
    const rows = readdirSync(out).flatMap((f) =>
      readFileSync(join(out, f), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { k: string; v: number; thread: number }),
    );
    expect(rows).toHaveLength(5000); // one running sum per input record
    // Worker threads, not the program's main thread (0), and two of them.
    const threads = new Set(rows.map((x) => x.thread));
    expect(threads.size).toBe(2);
    expect(threads.has(0)).toBe(false);
    // The last (largest) running sum of each key is the sum of its inputs.
    const final = new Map<string, number>();
    for (const x of rows) final.set(x.k, Math.max(final.get(x.k) ?? 0, x.v));
    const expected = new Map<string, number>();
    for (let i = 0; i < 5000; i++) expected.set(`k${i % 13}`, (expected.get(`k${i % 13}`) ?? 0) + i);
    expect(final).toEqual(expected);
  });

  it('refuses a job module that is not a file, naming it', async () => {
    const missing = join(dir, 'no-such-job.ts');
    const r = await run([join(dir, 'out2'), join(dir, 'state2'), missing]);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('TRIB_JOB_MODULE');
    expect(r.err).toContain(`the job module ${missing} is not a file`);
  });

  it('refuses a file sink every slot thread would overwrite, before any thread starts', async () => {
    const env = new StreamEnvironment();
    env.fromCollection([{ n: 1 }, { n: 2 }]).toFile(join(dir, 'shared.jsonl'), 'out');
    await expect(env.execute({ parallelism: 2, threads: true })).rejects.toMatchObject({
      code: 'TRIB_JOB_CONFIG',
      message: expect.stringContaining(
        `graph.sinks[0].file.path: sink "out" would be written by each of the 2 slots of execute({ threads })`,
      ) as unknown,
    });
    expect(readdirSync(dir)).not.toContain('shared.jsonl');
  });

  it('refuses options it would not honour, naming them', async () => {
    await expect(runOnThreads({ parallelism: 2, batchSize: 64 }, {})).rejects.toMatchObject({
      code: 'TRIB_JOB_CONFIG',
      message: expect.stringContaining('option batchSize configures a run in this thread only') as unknown,
    });
    await expect(runOnThreads({ parallelism: 2, sinkWriter: () => new CollectingSink([]) }, {})).rejects.toMatchObject({
      code: 'TRIB_JOB_CONFIG',
      message: expect.stringContaining('option sinkWriter configures a run in this thread only') as unknown,
    });
  });
});
