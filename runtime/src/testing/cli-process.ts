// `tributary …` as a child process on the repository's Node 24, for tests that drive the CLI as
// a user does: its exit code and output, and a hook on stderr (pino JSON lines) to act on a
// log line (send Ctrl-C once the job runs, read an address it logged).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '../../..');
export const REPO_NODE = join(REPO_ROOT, 'node_modules/.bin/node');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcess;
  /** Everything written to stderr so far. */
  readonly stderr: string;
  done: Promise<CliResult>;
}

/** Starts `tributary <args>`; `onStderr` sees all of stderr after each chunk. */
export function startCli(
  args: readonly string[],
  opts: { env?: Record<string, string>; onStderr?: (text: string, child: ChildProcess) => void } = {},
): CliRun {
  const child = spawn(REPO_NODE, ['runtime/src/cli/main.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info', ...opts.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    opts.onStderr?.(stderr, child);
  });
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return {
    child,
    get stderr() {
      return stderr;
    },
    done,
  };
}
