// The npm package from a user's side: `npm pack` (its prepack script builds dist/)
// install the tarball into an empty project, and there: type-check a typed job with tsc
// (a wrong field access must fail to compile), run it as TypeScript (Node's type stripping of
// the user's own file) and as JavaScript with Node 24, and run `npx tributary --help` and `validate` (the
// package's bin, bin/tributary.js, runs the compiled dist/ there; checkout-bin.test.ts runs it in a checkout).
// No registry is used: the tarball is unpacked into node_modules/tributary as `npm i` would,
// and its dependencies are linked from this repository's node_modules.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const node = process.execPath;
const env = { ...process.env, PATH: `${dirname(node)}:${process.env['PATH'] ?? ''}` };
let dir = '';
let app = '';

function link(name: string): void {
  const to = join(app, 'node_modules', name);
  mkdirSync(dirname(to), { recursive: true });
  symlinkSync(join(repo, 'node_modules', name), to);
}

const JOB_TS = `import { StreamEnvironment, TumblingEventTimeWindows, WatermarkStrategy } from 'tributary';
import type { AggregateFunction } from 'tributary';

interface Click { user: string; ms: number; ts: number }
const count: AggregateFunction<Click, number, number> = {
  create: () => 0,
  add: (n) => n + 1,
  result: (n) => n,
};
const env = new StreamEnvironment();
env.fromCollection([1, 2, 3, 4]).map((x) => x * 2).print();
env
  .fromCollection<Click>([{ user: 'a', ms: 1, ts: 0 }, { user: 'b', ms: 2, ts: 10 }, { user: 'a', ms: 3, ts: 20 }], {
    watermarks: WatermarkStrategy.forMonotonousTimestamps<Click>().withTimestampAssigner((c) => c.ts),
  })
  .keyBy('user')
  .window(TumblingEventTimeWindows.of('1m'))
  .aggregate(count, (n, user) => ({ user, n }))
  .print();
await env.execute();
`;

const JOB_JS = `import { StreamEnvironment } from 'tributary';
import { consoleSink } from 'tributary/connectors';
const env = new StreamEnvironment();
env.fromCollection(['a b', 'c']).flatMap((l) => l.split(' ')).sinkTo(consoleSink());
await env.execute();
`;

const BAD_TS = `import { StreamEnvironment } from 'tributary';
const env = new StreamEnvironment();
env.fromCollection([{ user: 'a', ms: 1 }]).map((c) => c.price).print();
`;

const run = (args: string[]) => spawnSync(args[0] as string, args.slice(1), { cwd: app, env, encoding: 'utf8' });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'trib-pkg-'));
  execFileSync('npm', ['pack', '--pack-destination', dir], { cwd: repo, env, stdio: 'ignore' });
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz')) as string;
  app = join(dir, 'app');
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { tributary: `file:../${tgz}` } }),
  );
  execFileSync('tar', ['-xzf', join(dir, tgz), '-C', join(app, 'node_modules')]);
  execFileSync('mv', [join(app, 'node_modules/package'), join(app, 'node_modules/tributary')]);
  const pkg = JSON.parse(readFileSync(join(app, 'node_modules/tributary/package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    bin: Record<string, string>;
  };
  for (const d of [...Object.keys(pkg.dependencies), 'typescript', '@types/node']) link(d);
  mkdirSync(join(app, 'node_modules/.bin'));
  symlinkSync(join('..', 'tributary', pkg.bin['tributary'] as string), join(app, 'node_modules/.bin/tributary'));
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2024',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        noEmit: true,
        allowImportingTsExtensions: true,
        erasableSyntaxOnly: true,
        types: ['node'],
        skipLibCheck: false,
      },
      include: ['job.ts'],
    }),
  );
  writeFileSync(join(app, 'job.ts'), JOB_TS);
  writeFileSync(join(app, 'job.mjs'), JOB_JS);
  writeFileSync(join(app, 'bad.ts'), BAD_TS);
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('ships JavaScript and declarations only (no TypeScript sources, no tests)', () => {
    const files = execFileSync('tar', ['-tzf', join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz')) as string)], {
      encoding: 'utf8',
    }).split('\n');
    expect(files).toContain('package/dist/runtime/src/api.js');
    expect(files).toContain('package/dist/runtime/src/api.d.ts');
    expect(files).toContain('package/bin/tributary.js');
    // The dashboard's page: static files tsc does not emit (runtime/build/build-package.ts copies them).
    for (const f of ['index.html', 'app.js', 'job-view.js', 'dag-layout.js', 'format.js', 'style.css'])
      expect(files).toContain(`package/dist/runtime/src/dashboard/page/${f}`);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => f.includes('.test.'))).toEqual([]);
  });

  it("type-checks a user's typed job with tsc", () => {
    const r = run([node, join(app, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('refuses a wrong field access at compile time', () => {
    const r = run([
      node,
      join(app, 'node_modules/typescript/bin/tsc'),
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      'bad.ts',
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain("bad.ts(3,57): error TS2339: Property 'price' does not exist");
  });

  it('runs the typed job as TypeScript (type stripping) with Node 24', () => {
    const r = run([node, 'job.ts']);
    expect(r.stderr).not.toContain('Error');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => /^\d+$/.test(l))).toEqual(['2', '4', '6', '8']);
    expect(lines.filter((l) => l.startsWith('{')).sort()).toEqual(['{"user":"a","n":2}', '{"user":"b","n":1}']);
  });

  it('runs a job as JavaScript, importing the connectors entry point', () => {
    const r = run([node, 'job.mjs']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['"a"', '"b"', '"c"']);
  });

  // Each slot starts from the compiled entrypoint beside the supervisor (a worker thread, or a
  // process with --distributed); only thread slots post their counts for the final line.
  it.each([
    {
      mode: [],
      host: 'thread',
      final: /"attempts":1,"restarts":0,"recordsIn":[1-9]\d*,"recordsOut":[1-9]\d*,"msg":"job stopped"/,
    },
    { mode: ['--distributed'], host: 'process', final: /"attempts":1,"restarts":0.*"msg":"job stopped"/ },
  ])('runs a manifest of two slots from the package, a $host each', ({ mode, host, final }) => {
    const r = run([
      'npx',
      '--offline',
      'tributary',
      'run',
      'node_modules/tributary/crds/examples/clicks-local.yaml',
      ...mode,
      '--duration',
      '8s',
      '--drain',
      '--state-dir',
      join(dir, `state-${host}`),
    ]);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).toContain(`"host":"${host}"`);
    expect(r.stdout.split('\n').filter((l) => l.includes('window_start')).length).toBeGreaterThan(0);
    expect(r.stderr).toMatch(final);
  });

  it('serves the dashboard of a run from the package (`--ui`): page, uPlot from its dependency, API', async () => {
    // The bin itself, not through npx: SIGTERM then reaches the run, which stops its server.
    const child = spawn(
      node,
      [
        'node_modules/.bin/tributary',
        'run',
        'node_modules/tributary/crds/examples/clicks-local.yaml',
        '--single-thread',
        '--ui',
        '127.0.0.1:0',
      ],
      { cwd: app, env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr.setEncoding('utf8');
    try {
      let err = '';
      const url = await new Promise<string>((ok, fail) => {
        child.stderr.on('data', (d: string) => {
          err += d;
          const m = /dashboard: (http:\/\/\S+)/.exec(err);
          if (m) ok(m[1] as string);
          if (/^error TRIB_/m.test(err)) fail(new Error(err.slice(-2000)));
        });
        child.once('exit', (code) => fail(new Error(`exited ${code} before serving: ${err.slice(-2000)}`)));
      });
      const origin = new URL(url).origin;
      for (const path of ['/', '/assets/app.js', '/assets/uPlot.min.js', '/api/v1/jobs/local/clicks-local'])
        expect((await fetch(`${origin}${path}`)).status, path).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it('runs `npx tributary --help`', () => {
    const r = run(['npx', '--offline', 'tributary', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toContain('tributary run <job.yaml>');
  });

  it('validates a manifest against the CRDs it ships (bin/tributary.js running dist/)', () => {
    const example = 'node_modules/tributary/crds/examples/clicks.yaml';
    const ok = run(['npx', '--offline', 'tributary', 'validate', example]);
    expect(ok.stdout, ok.stderr).toContain(`${example}: valid (7 nodes)`);
    expect(ok.status).toBe(0);
    const typo = run(['npx', '--offline', 'tributary', 'validate', example, '--set', 'spec.checkpointng={}']);
    expect(typo.stderr).toContain('spec.checkpointng: unknown field');
    expect(typo.status).toBe(2);
  });
});
