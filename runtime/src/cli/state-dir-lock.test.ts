import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockStateDir } from './state-dir-lock.ts';

const lockFile = (dir: string): string => join(dir, '.tributary-run.lock');

describe('lockStateDir', () => {
  it('one run per state directory: a second is refused naming the holder; released, it is free again', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'trib-lock-')), 'state');
    const first = lockStateDir(dir);
    expect(readFileSync(lockFile(dir), 'utf8')).toBe(String(process.pid));
    // Another live process holds it: this process's parent stands in for a second run.
    writeFileSync(lockFile(dir), String(process.ppid));
    expect(() => lockStateDir(dir)).toThrow(
      expect.objectContaining({
        code: 'TRIB_STATE_LOCKED',
        message: expect.stringContaining(
          `state directory ${dir} is in use by another tributary run (pid ${process.ppid}`,
        ),
      }),
    );
    // Not this run's lock any more: releasing leaves it alone.
    first.release();
    expect(existsSync(lockFile(dir))).toBe(true);
    writeFileSync(lockFile(dir), String(process.pid));
    first.release();
    expect(existsSync(lockFile(dir))).toBe(false);
    lockStateDir(dir).release();
  });

  it('takes over the lock of a run that is gone (killed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-lock-stale-'));
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid as number;
    await new Promise((r) => child.on('exit', r));
    writeFileSync(lockFile(dir), String(pid));
    const lock = lockStateDir(dir);
    expect(readFileSync(lockFile(dir), 'utf8')).toBe(String(process.pid));
    lock.release();
  });
});
