// `tributary run --threads` as users run it: Ctrl-C stops every slot thread and the process
// exits 0 with the job STOPPED.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
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
});
