import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_NODE } from '../testing/cli-process.ts';
import { localControlToken, removeLocalToken } from './local-token.ts';

describe('localControlToken', () => {
  it('generates a token in a 0600 file of its own, removed with its folder when the run ends', () => {
    const t = localControlToken({});
    expect(t.generated).toBe(true);
    expect(t.token.length).toBeGreaterThanOrEqual(40);
    expect(statSync(t.file).mode & 0o777).toBe(0o600);
    removeLocalToken(t);
    expect(existsSync(dirname(t.file))).toBe(false);
  });

  it('removes a generated token when the process exits, a forced exit too', () => {
    const program = `import { localControlToken } from ${JSON.stringify(join(import.meta.dirname, 'local-token.ts'))};
      const t = localControlToken({});
      process.stdout.write(t.file);
      process.exit(130);`;
    let file = '';
    try {
      execFileSync(REPO_NODE, ['--input-type=module', '-e', program], { encoding: 'utf8' });
    } catch (e) {
      const err = e as { status: number; stdout: string };
      expect(err.status).toBe(130);
      file = err.stdout;
    }
    expect(file).toMatch(/tributary-control-.*token$/);
    expect(existsSync(dirname(file))).toBe(false);
  });

  it("uses the user's TRIBUTARY_CONTROL_TOKEN_FILE and never removes it", () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-token-'));
    try {
      const file = join(dir, 'token');
      writeFileSync(file, 'mine\n', { mode: 0o600 });
      const t = localControlToken({ TRIBUTARY_CONTROL_TOKEN_FILE: file });
      expect(t).toEqual({ token: 'mine', file, generated: false });
      removeLocalToken(t);
      expect(existsSync(file)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
