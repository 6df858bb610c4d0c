// Application mode's module loading, in a process of its own as in a slot: the module's
// `import 'tributary'` resolves to this runtime's API (the test module sits outside any
// project that installed the package), its execute() submits the graph and its functions,
// and those run on the engine; a module that fails to load, never calls execute(), calls it
// twice, or calls executeAndCollect() is refused naming the module.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const driver = join(import.meta.dirname, 'testdata/load-driver.ts');
const dir = mkdtempSync(join(tmpdir(), 'trib-module-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the driver on `file`; resolves with the last JSON line it printed. */
function drive(file: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [driver, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as Record<string, unknown>);
      } catch {
        reject(new Error(`driver printed no JSON: ${out}\n${err}`));
      }
    });
  });
}

function load(name: string, source: string): Promise<Record<string, unknown>> {
  const file = join(dir, name);
  writeFileSync(file, source);
  return drive(file);
}

describe('a job module', () => {
  it('submits its graph and functions through execute(); they run on this runtime', async () => {
    const got = await load(
      'job.ts',
      `import { StreamEnvironment } from 'tributary';
       import { consoleSink } from 'tributary/connectors';
       interface Click { user: string; ms: number }
       const env = new StreamEnvironment();
       env
         .fromCollection<Click>([{ user: 'a', ms: 5 }, { user: 'b', ms: 7 }, { user: 'a', ms: 1 }])
         .keyBy('user')
         .reduce((x, y) => ({ user: x.user, ms: x.ms + y.ms }), 'total')
         .map((c) => \`\${c.user}=\${c.ms}\`, 'show')
         .sinkTo(consoleSink(), 'out');
       await env.execute();
       throw new Error('not reached in a slot: execute() hands the job over and does not return');
      `,
    );
    expect(got['functions']).toEqual(['total', 'show']);
    expect([...((got['sinks'] as Record<string, string[]>)['out'] ?? [])].sort()).toEqual(['a=5', 'a=6', 'b=7']);
  }, 60_000);

  it('runs as JavaScript too', async () => {
    const got = await load(
      'job.mjs',
      `import { StreamEnvironment } from 'tributary';
       const env = new StreamEnvironment();
       env.fromCollection([1, 2, 3, 4]).map((x) => x * 2).print('out');
       await env.execute();`,
    );
    expect([...((got['sinks'] as Record<string, number[]>)['out'] ?? [])].sort()).toEqual([2, 4, 6, 8]);
  }, 60_000);

  it('is refused, naming it, when it cannot be loaded, never executes, executes twice or collects', async () => {
    const cases: [string, string, RegExp][] = [
      ['throws.ts', `throw new Error('bad config');`, /job module .*throws\.ts could not be loaded: bad config/],
      [
        'idle.ts',
        `import { StreamEnvironment } from 'tributary'; new StreamEnvironment().fromCollection([1]).print();`,
        /idle\.ts finished without calling env\.execute\(\)/,
      ],
      [
        'twice.ts',
        `import { StreamEnvironment } from 'tributary';
         const env = new StreamEnvironment(); env.fromCollection([1]).print();
         void env.execute(); await env.execute();`,
        /twice\.ts calls execute\(\) more than once/,
      ],
      [
        'collect.ts',
        `import { StreamEnvironment } from 'tributary';
         const env = new StreamEnvironment(); env.fromCollection([1]).print();
         await env.executeAndCollect();`,
        /collect\.ts calls executeAndCollect\(\)/,
      ],
    ];
    const got = await Promise.all([...cases.map(([name, source]) => load(name, source)), drive(join(dir, 'nope.ts'))]);
    cases.forEach(([name, , message], i) => {
      expect(got[i]?.['code'], name).toBe('TRIB_JOB_MODULE');
      expect(String(got[i]?.['message'])).toMatch(message);
    });
    expect(got[cases.length]).toMatchObject({
      code: 'TRIB_JOB_MODULE',
      message: expect.stringContaining('nope.ts could not be loaded'),
    });
  }, 120_000);
});
