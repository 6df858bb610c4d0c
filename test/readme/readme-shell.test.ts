import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ReadmeShell } from './readme-shell.ts';

const dirs: string[] = [];
function shell(): ReadmeShell {
  const dir = mkdtempSync(join(tmpdir(), 'readme-shell-'));
  dirs.push(dir);
  return new ReadmeShell({ cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir }, dir });
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('ReadmeShell', () => {
  it('carries what a command exports (eval included) into the next one', async () => {
    const sh = shell();
    await sh.run(`eval "$(echo 'export GREETING="hello world"')"`, 'README.md:1', 5_000);
    await sh.run('export PATH="/opt/tools:$PATH"', 'README.md:2', 5_000);
    expect(await sh.run('echo "$GREETING"', 'README.md:3', 5_000)).toBe('hello world\n');
    expect(sh.env.PATH?.startsWith('/opt/tools:')).toBe(true);
  });

  it('fails naming the README line, the command and its output', async () => {
    const sh = shell();
    await expect(sh.run('echo boom >&2; exit 3', 'README.md:7', 5_000)).rejects.toThrow(
      /README_STEP_FAILED\] README.md:7: `echo boom >&2; exit 3` exited with 3; its output ends:\nboom/,
    );
    await expect(sh.run('sleep 5', 'README.md:8', 300)).rejects.toThrow(/README_STEP_TIMEOUT\] README.md:8/);
  });

  it('returns at once from a background command and stops its whole process group later', async () => {
    const sh = shell();
    const t0 = Date.now();
    await sh.run('bash -c "sleep 60; echo never" &', 'README.md:9', 5_000);
    expect(Date.now() - t0).toBeLessThan(4_000);
    const [pid] = sh.background;
    expect(pid).toBeGreaterThan(0);
    expect(() => process.kill(-pid!, 0)).not.toThrow();
    await sh.stopBackground(2_000);
    expect(() => process.kill(-pid!, 0)).toThrow();
    expect(sh.background).toEqual([]);
  });
});
