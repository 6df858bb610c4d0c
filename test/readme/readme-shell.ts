// A user's terminal for README commands: each command runs in `bash -c` with the environment
// the previous commands left (so `eval "$(npm run -s cluster -- env)"` and `export` carry
// over), from one working directory, its output kept in a file per command. A command
// started in the background (`... &`) gets its own process group (`set -m`) and is stopped,
// group and all, by stopBackground(). Invariants: the command text is run exactly as given;
// every background process this shell started is known by pid until it is stopped; a
// non-zero exit or a timeout fails with the command's README line and its output's tail.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReadmeError } from './errors.ts';

export interface ShellResult {
  readonly output: string;
  readonly exitCode: number;
}

export class ReadmeShell {
  readonly #dir: string;
  readonly #cwd: string;
  #env: Record<string, string>;
  readonly #background: number[] = [];
  #count = 0;

  /** `dir` holds each command's output, environment dump and background pid. */
  constructor(options: { cwd: string; env: Record<string, string>; dir: string }) {
    this.#cwd = options.cwd;
    this.#env = { ...options.env };
    this.#dir = options.dir;
  }

  get env(): Readonly<Record<string, string>> {
    return this.#env;
  }

  /** Runs `command`; a non-zero exit fails naming `where` (e.g. `README.md:42`). */
  async run(command: string, where: string, timeoutMs: number): Promise<string> {
    const r = await this.exec(command, timeoutMs, where);
    if (r.exitCode !== 0) {
      throw new ReadmeError(
        'README_STEP_FAILED',
        `${where}: \`${command}\` exited with ${r.exitCode}; its output ends:\n${lastLines(r.output, 40)}`,
      );
    }
    return r.output;
  }

  /** Runs `command` and returns its exit code and output, whatever the code. */
  async exec(command: string, timeoutMs: number, where = 'test'): Promise<ShellResult> {
    const n = ++this.#count;
    const out = join(this.#dir, `${n}.out`);
    const envFile = join(this.#dir, `${n}.env`);
    const bgFile = join(this.#dir, `${n}.bg`);
    const q = (p: string) => `'${p.replaceAll("'", `'\\''`)}'`;
    // `set -m`: a background job gets its own process group, so it can be stopped whole.
    const script = `set -m\n${command}\n__rc=$?\nenv -0 > ${q(envFile)}\nif [ -n "\${!:-}" ]; then echo "$!" > ${q(bgFile)}; fi\nexit $__rc\n`;
    const fd = openSync(out, 'a');
    let exitCode: number;
    try {
      // Its own process group too, so a timeout kills whatever the command started in the foreground.
      const child = spawn('bash', ['-c', script], {
        cwd: this.#cwd,
        env: this.#env,
        stdio: ['ignore', fd, fd],
        detached: true,
      });
      exitCode = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          killGroup(child.pid, 'SIGKILL');
          reject(
            new ReadmeError(
              'README_STEP_TIMEOUT',
              `${where}: \`${command}\` did not finish within ${timeoutMs / 1000}s; its output ends:\n${lastLines(readFileSync(out, 'utf8'), 40)}`,
            ),
          );
        }, timeoutMs);
        child.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        // 'exit', not 'close': a background job keeps the output file open after bash is gone.
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          resolve(code ?? (signal ? 128 : 1));
        });
      });
    } finally {
      closeSync(fd);
    }
    if (existsSync(envFile)) this.#env = parseEnv(readFileSync(envFile, 'utf8'));
    if (existsSync(bgFile)) this.#background.push(Number(readFileSync(bgFile, 'utf8').trim()));
    return { output: readFileSync(out, 'utf8'), exitCode };
  }

  /** Pids (= process groups) of the background jobs still to stop. */
  get background(): readonly number[] {
    return this.#background;
  }

  /** SIGTERM to each background job's group, SIGKILL after `graceMs`; waits until they are gone. */
  async stopBackground(graceMs = 20_000): Promise<void> {
    for (const pid of this.#background.splice(0)) {
      killGroup(pid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while (groupAlive(pid) && Date.now() < deadline) await sleep(200);
      if (groupAlive(pid)) killGroup(pid, 'SIGKILL');
      for (let i = 0; i < 50 && groupAlive(pid); i++) await sleep(100);
    }
  }
}

function parseEnv(dump: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of dump.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
