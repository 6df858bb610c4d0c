// Local processes only (no cluster): the container = process group contract.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeAtomically } from './atomic-writer.ts';
import { ContainerProcess, killRecordedProcesses, procStartTime } from './container-process.ts';

function spec(dir: string, script: string) {
  return {
    argv: ['sh', '-c', script] as [string, ...string[]],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    cwd: join(dir, 'root'),
    logFile: join(dir, 'logs', 'c.log'),
    pidFile: join(dir, 'containers', 'c.pid'),
    banner: '----- start -----',
  };
}

async function alive(pid: number): Promise<boolean> {
  const stat = await procStartTime(pid);
  if (stat === undefined) return false;
  return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
}

/** Polls until `ok` holds (events, not fixed sleeps: a loaded machine is slower, not wrong). */
async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const logOf = (dir: string) => {
  const f = join(dir, 'logs', 'c.log');
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
};

describe('container processes', () => {
  it('appends output to the log after a banner and reports the exit code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'na-proc-'));
    const p = await ContainerProcess.start(spec(dir, 'echo out; echo err >&2; exit 3'));
    expect((await p.exited).exitCode).toBe(3);
    await (
      await ContainerProcess.start(spec(dir, 'echo again'))
    ).exited;
    expect(readFileSync(join(dir, 'logs', 'c.log'), 'utf8')).toBe(
      '----- start -----\nout\nerr\n----- start -----\nagain\n',
    );
  });

  it('reports a missing executable as exit 128 with a start error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'na-proc-'));
    const p = await ContainerProcess.start({ ...spec(dir, ''), argv: ['/nonexistent/binary'] });
    const exit = await p.exited;
    expect(exit.exitCode).toBe(128);
    expect(exit.startError).toMatch(/ENOENT/);
  });

  it('sends SIGTERM to the main process, then SIGKILLs the whole group after the grace period', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'na-proc-'));
    // The main process ignores SIGTERM and has a child; both must be gone after stop().
    const p = await ContainerProcess.start(
      spec(dir, 'trap "echo got-term" TERM; sleep 30 & echo child=$!; while true; do sleep 0.1; done'),
    );
    await until('the child pid in the log', () => /child=\d+/.test(logOf(dir)));
    const child = Number(/child=(\d+)/.exec(logOf(dir))?.[1]);
    expect(child).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'containers', 'c.pid'))).toBe(true);
    const t0 = Date.now();
    const exit = await p.stop(700);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(650);
    expect(exit.exitCode).toBe(137);
    expect(exit.signal).toBe('SIGKILL');
    expect(readFileSync(join(dir, 'logs', 'c.log'), 'utf8')).toContain('got-term');
    await until('the child to be gone', async () => !(await alive(child)));
    expect(existsSync(join(dir, 'containers', 'c.pid'))).toBe(false);
  });

  it('lets a process that handles SIGTERM exit cleanly within its grace period', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'na-proc-'));
    const p = await ContainerProcess.start(
      spec(dir, 'trap "exit 0" TERM; echo trapped; while true; do sleep 0.1; done'),
    );
    await until('the TERM trap to be set', () => logOf(dir).includes('trapped'));
    const exit = await p.stop(10_000);
    // Exit 0 without a signal: the process ended itself; a SIGKILL after the grace period gives 137.
    expect(exit.exitCode).toBe(0);
    expect(exit.signal).toBeUndefined();
  });

  it('finds and kills processes recorded by a previous agent, but not a reused pid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'na-proc-'));
    const p = await ContainerProcess.start(spec(dir, 'while true; do sleep 0.1; done'));
    expect(await killRecordedProcesses(dir, 1000)).toEqual(['c']);
    expect((await p.exited).signal).toBe('SIGTERM');
    expect(await killRecordedProcesses(dir, 1000)).toEqual([]);
  });
});

describe('atomic volume writer', () => {
  it('swaps ..data and exposes top-level entries as symlinks; removes keys that disappeared', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'na-vol-'));
    expect(
      await writeAtomically(
        dir,
        new Map([
          ['a', { data: '1', mode: 0o644 }],
          ['sub/b', { data: '2', mode: 0o600 }],
        ]),
      ),
    ).toBe(true);
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('1');
    expect(readFileSync(join(dir, 'sub', 'b'), 'utf8')).toBe('2');
    expect(
      await writeAtomically(
        dir,
        new Map([
          ['a', { data: '1', mode: 0o644 }],
          ['sub/b', { data: '2', mode: 0o600 }],
        ]),
      ),
    ).toBe(false);
    expect(await writeAtomically(dir, new Map([['a', { data: 'changed', mode: 0o644 }]]))).toBe(true);
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('changed');
    expect(existsSync(join(dir, 'sub'))).toBe(false);
    await expect(writeAtomically(dir, new Map([['../escape', { data: 'x', mode: 0o644 }]]))).rejects.toThrow(
      /invalid volume file path/,
    );
  });
});
