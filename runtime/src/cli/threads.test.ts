// `tributary run --threads` as users run it: Ctrl-C stops every slot thread and the process
// exits 0 with the job STOPPED.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const node = join(root, 'node_modules/.bin/node');

describe('tributary run --threads', () => {
  it('Ctrl-C stops all slot threads; the run exits 0, STOPPED', async () => {
    const state = mkdtempSync(join(tmpdir(), 'trib-threads-cli-'));
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(
        node,
        [
          'runtime/src/cli/main.ts',
          'run',
          'crds/examples/clicks-local.yaml',
          '--threads',
          '-p',
          '2',
          '--state-dir',
          state,
        ],
        { cwd: root, env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info' } },
      );
      let stderr = '';
      let sent = false;
      p.stdout.resume();
      p.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // Both slots linked and running (each logs it once), with a checkpoint taken.
        if (!sent && stderr.split('"msg":"job running"').length === 3 && stderr.includes('checkpoint completed')) {
          sent = true;
          p.kill('SIGINT');
        }
      });
      p.on('close', (code) => resolve({ code, stderr }));
    });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).toContain('"host":"thread"');
    expect(r.stderr).toContain('stopping all slots');
    expect(r.stderr.split('"msg":"slot stopped"').length).toBe(3);
    expect(r.stderr).toMatch(/"state":"STOPPED","attempts":1,"restarts":0,"msg":"job stopped"/);
  }, 30_000);

  it('--threads and --distributed refuse a file sink path without {slot}: the slots would overwrite one file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-threads-file-'));
    const job = join(dir, 'job.yaml');
    const out = join(dir, 'out.jsonl');
    writeFileSync(
      job,
      [
        'apiVersion: tributary.dev/v1alpha1',
        'kind: StreamJob',
        'metadata: {name: shared-file}',
        'spec:',
        '  graph:',
        '    sources: [{name: g, datagen: {generator: nexmark, count: 10, events: [bid]}}]',
        `    sinks: [{name: out, from: g, file: {path: ${out}}}]`,
      ].join('\n'),
    );
    for (const [mode, what] of [
      ['--threads', 'threads'],
      ['--distributed', 'processes'],
    ] as const) {
      const r = spawnSync(
        node,
        ['runtime/src/cli/main.ts', 'run', job, mode, '-p', '2', '--state-dir', join(dir, 's'), '--explain'],
        { cwd: root, encoding: 'utf8', timeout: 20_000 },
      );
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr, 'a refused run prints no plan').not.toMatch(/^task \d+:/m);
      expect(r.stderr).toContain(
        `error TRIB_JOB_CONFIG: spec.graph.sinks[0].file.path: sink "out" would be written by each of the 2 slots of run ${mode} (separate ${what}`,
      );
      expect(r.stderr).toContain(`e.g. ${join(dir, 'out-{slot}.jsonl')}`);
      expect(existsSync(out)).toBe(false);
    }
    // Not a regular file (nothing there is overwritten): allowed.
    writeFileSync(job, readFileSync(job, 'utf8').replace(out, '/dev/null'));
    const ok = spawnSync(
      node,
      ['runtime/src/cli/main.ts', 'run', job, '--threads', '-p', '2', '--state-dir', join(dir, 's')],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(ok.status, ok.stderr).toBe(0);
  });
});
