// The CLI as users run it: a child process on Node 24 (type stripping, no build).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
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
        '--duration',
        '5s',
        '--drain',
        '--metrics-port',
        '0',
        '--set',
        'graph.sources[0].datagen.rate=5000',
      ],
      {
        onStderr: (text) => {
          const m = /"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(text);
          if (m && !fetched) {
            fetched = true;
            setTimeout(() => {
              fetch(m[1] as string)
                .then((res) => res.text())
                .then((t) => (metrics = t))
                .catch(() => {});
            }, 3000);
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
    expect(metrics).toContain('tributary_records_out_total{node="clicks"}');
  }, 30_000);

  it('stops cleanly on Ctrl-C', async () => {
    const r = await cli(['run', 'crds/examples/clicks-local.yaml'], {
      onStderr: (text, kill) => {
        if (text.includes('job running')) setTimeout(kill, 500);
      },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('stopping');
    expect(r.stderr).toContain('"state":"STOPPED"');
  }, 30_000);

  it('exits 2 with the path of the problem for an invalid graph', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'sources: [{ name: s, datagen: { generator: nexmark } }]\nsteps: [{ name: w, from: s, window: { tumbling: { size: abc } } }]\nsinks: [{ name: o, from: w, console: {} }]\n',
    );
    const r = await cli(['run', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error TRIB_GRAPH_INVALID');
    expect(r.stderr).toContain('graph.steps[0].window.tumbling.size: expected a duration like "1m", got "abc"');
  }, 30_000);
});
