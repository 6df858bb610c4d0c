// The CLI as users run it: a child process on Node 24 (type stripping, no build).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const node = join(root, 'node_modules/.bin/node');

function cli(
  args: string[],
  opts: { onStderr?: (text: string, kill: () => void) => void } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(node, ['runtime/src/cli/main.ts', ...args], {
      cwd: root,
      env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info' },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr, () => p.kill('SIGINT'));
    });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('tributary CLI', () => {
  it('runs the example manifest for a fixed duration (drained: open windows fire) and serves /metrics', async () => {
    let metrics = '';
    let fetched = false;
    const r = await cli(
      [
        'run',
        'crds/examples/clicks-local.yaml',
        '--state-dir',
        mkdtempSync(join(tmpdir(), 'trib-cli-')),
        '--duration',
        '8s',
        '--drain',
        '--metrics-port',
        '0',
        '--set',
        'graph.sources[0].datagen.rate=5000',
      ],
      {
        onStderr: (text) => {
          const m = /"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(text);
          // Scraped a second after both slots run (the endpoint is up before they start).
          if (m && !fetched && text.split('"msg":"job running"').length === 3) {
            fetched = true;
            setTimeout(() => {
              fetch(m[1] as string)
                .then((res) => res.text())
                .then((t) => (metrics = t))
                .catch(() => {});
            }, 1000);
          }
        },
      },
    );
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(0);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      window_start: expect.any(Number),
      window_end: expect.any(Number),
      clicks: expect.any(Number),
    });
    expect(r.stderr).toContain('"msg":"job stopped"');
    // The example's two slots run on threads (the default above parallelism 1): each slot's counts, labelled.
    expect(metrics).toContain('tributary_records_out_total{slot="0",node="clicks"}');
    expect(metrics).toContain('tributary_records_out_total{slot="1",node="clicks"}');
    // The process's CPU once (the supervisor's: its slots share its process), each slot's heap.
    expect(metrics.match(/^tributary_process_process_cpu_seconds_total.*$/gm)).toEqual([
      expect.stringMatching(/^tributary_process_process_cpu_seconds_total \d/),
    ]);
    expect(metrics).toMatch(/^tributary_process_nodejs_heap_size_used_bytes\{slot="1"\} \d/m);
  }, 30_000);

  it('stops cleanly on Ctrl-C', async () => {
    let sent = false;
    const state = mkdtempSync(join(tmpdir(), 'trib-cli-'));
    const r = await cli(['run', 'crds/examples/clicks-local.yaml', '--state-dir', state], {
      onStderr: (text, kill) => {
        // One Ctrl-C: a second one forces the exit (130).
        if (!sent && text.includes('job running')) {
          sent = true;
          setTimeout(kill, 500);
        }
      },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('stopping');
    expect(r.stderr).toContain('"state":"STOPPED"');
  }, 30_000);

  it('refuses delivery: exactly-once without checkpoints (validate and run exit 2 naming the field and what to add); with --checkpoint-interval it validates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-cli-'));
    const file = join(dir, 'eos.yaml');
    writeFileSync(
      file,
      'sources: [{ name: s, collection: { records: [{ a: 1 }] } }]\nsinks: [{ name: o, from: s, kafka: { brokers: "127.0.0.1:1", topic: t, delivery: exactly-once } }]\n',
    );
    for (const cmd of ['validate', 'run']) {
      const r = await cli([cmd, file]);
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(
        'error TRIB_JOB_CONFIG: graph.sinks[0].kafka.delivery: exactly-once needs checkpoints',
      );
      expect(r.stderr).toContain('add --checkpoint-interval 10s');
      expect(r.stderr).toContain('or set delivery: at-least-once');
    }
    const ok = await cli(['validate', file, '--checkpoint-interval', '1s']);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await cli(['validate', file, '--distributed'])).code).toBe(0);
  }, 30_000);

  it('validate and run exit 2 with the path of the problem for an invalid graph', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'sources: [{ name: s, datagen: { generator: nexmark } }]\nsteps: [{ name: w, from: s, window: { tumbling: { size: abc } } }]\nsinks: [{ name: o, from: w, console: {} }]\n',
    );
    for (const cmd of ['validate', 'run']) {
      const r = await cli([cmd, file]);
      expect(r.code, cmd).toBe(2);
      expect(r.stderr).toContain('error TRIB_GRAPH_INVALID');
      expect(r.stderr).toContain('graph.steps[0].window.tumbling.size: expected a duration like "1m", got "abc"');
    }
  }, 30_000);

  // A run on threads prints the same plan: every slot runs all of it on its share.
  it.each([[['--single-thread']], [['--state-dir', 'STATE']]])(
    '--explain prints the plan: chained steps per task and the keyed exchange (%j)',
    async (mode: string[]) => {
      const state = mkdtempSync(join(tmpdir(), 'trib-cli-'));
      const extra = mode.map((a) => (a === 'STATE' ? state : a));
      const r = await cli([
        'run',
        'crds/examples/clicks-local.yaml',
        '--explain',
        '--duration',
        '1s',
        '-p',
        '2',
        ...extra,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('task 0: clicks → purchases-and-views → enriched → by-country\n');
      expect(r.stderr).toContain('task 1: [by-country ⇉hash] ⇒ every-5s → per-country → out\n');
    },
    30_000,
  );

  it('--restore starts from a checkpoint at another parallelism; a path that is not a checkpoint exits 1 naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-cli-'));
    const first = await cli([
      'run',
      'crds/examples/clicks-local.yaml',
      // Long enough for checkpoints on a loaded machine too (2 s once ended before the first one completed).
      '--duration',
      '5s',
      '-p',
      '2',
      '--state-dir',
      dir,
      '--checkpoint-interval',
      '200ms',
    ]);
    expect(first.code, first.stderr).toBe(0);
    const chk = readdirSync(join(dir, 'checkpoints'))
      .filter((d) => existsSync(join(dir, 'checkpoints', d, '_metadata.json')))
      .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
      .at(-1);
    expect(chk).toMatch(/^chk-\d+$/);
    const path = join(dir, 'checkpoints', chk!);
    const again = await cli([
      'run',
      'crds/examples/clicks-local.yaml',
      '--duration',
      '1s',
      '-p',
      '3',
      '--restore',
      path,
      '--state-dir',
      mkdtempSync(join(tmpdir(), 'trib-cli-')),
    ]);
    expect(again.code, again.stderr).toBe(0);
    const restoring = again.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l['msg'] === 'restoring state');
    expect(restoring).toMatchObject({ path, checkpointId: Number(chk!.slice(4)), from: 2, to: 3 });

    const missing = join(dir, 'checkpoints', 'nope');
    const bad = await cli([
      'run',
      'crds/examples/clicks-local.yaml',
      '--duration',
      '1s',
      '--restore',
      missing,
      '--state-dir',
      mkdtempSync(join(tmpdir(), 'trib-cli-')),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`error TRIB_RESTORE_METADATA_MISSING: ${missing} is not a completed checkpoint`);
  }, 60_000);
});
