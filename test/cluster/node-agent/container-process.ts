// One container run = one local process tree. Invariants:
// - the process is spawned `detached`, so it leads its own process group; the group is the
//   "container": SIGTERM goes to the main process only (like PID 1 in a container), SIGKILL
//   goes to the whole group, and when the main process exits the rest of the group is killed
//   (as tearing down a container's PID namespace would);
// - stdout and stderr go straight to the container's log file (opened O_APPEND; the agent
//   never pipes them), so output survives an agent crash;
// - a pid file `<podDir>/containers/<name>.pid` records pid + kernel start time while the
//   process runs, so a restarted agent can find and kill orphans without hitting a reused pid.
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { constants } from 'node:os';
import { NodeAgentError } from './errors.ts';

export interface ExitInfo {
  /** Kubernetes-style exit code: the process's code, or 128 + signal number when killed. */
  exitCode: number;
  signal: NodeJS.Signals | undefined;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  startError: string | undefined;
}

export interface SpawnSpec {
  argv: [string, ...string[]];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
  pidFile: string;
  /** First line written to the log before the process starts. */
  banner: string;
}

interface PidRecord {
  pid: number;
  startTime: string;
  argv: string[];
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or undefined. */
export async function procStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  return (constants.signals as Record<string, number>)[signal] ?? 0;
}

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone
  }
}

export class ContainerProcess {
  readonly pid: number;
  readonly startedAt: Date;
  readonly exited: Promise<ExitInfo>;
  #exit: ExitInfo | undefined;

  private constructor(pid: number, exited: Promise<ExitInfo>) {
    this.pid = pid;
    this.startedAt = new Date();
    this.exited = exited.then((info) => {
      this.#exit = info;
      return info;
    });
  }

  get hasExited(): boolean {
    return this.#exit !== undefined;
  }

  /**
   * Starts the process. A missing executable does not throw: it yields a process whose
   * `exited` resolves at once with `startError` set (reported as StartError, exit code 128).
   */
  static async start(spec: SpawnSpec): Promise<ContainerProcess> {
    await mkdir(dirname(spec.logFile), { recursive: true });
    await mkdir(dirname(spec.pidFile), { recursive: true });
    await mkdir(spec.cwd, { recursive: true });
    let fd: number;
    try {
      fd = openSync(spec.logFile, 'a');
      writeSync(fd, spec.banner.endsWith('\n') ? spec.banner : `${spec.banner}\n`);
    } catch (cause) {
      throw new NodeAgentError('NODE_AGENT_SPAWN', `cannot open log file ${spec.logFile}`, { cause });
    }
    const [file, ...args] = spec.argv;
    let resolveExit!: (info: ExitInfo) => void;
    const exited = new Promise<ExitInfo>((r) => (resolveExit = r));
    let child;
    try {
      child = spawn(file, args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', fd, fd] });
    } catch (err) {
      closeSync(fd);
      const message = `failed to start ${file}: ${(err as Error).message}`;
      return new ContainerProcess(0, Promise.resolve({ exitCode: 128, signal: undefined, startError: message }));
    }
    closeSync(fd);
    let startError: string | undefined;
    child.once('error', (err) => {
      startError = `failed to start ${file}: ${err.message}`;
      if (child.pid === undefined) resolveExit({ exitCode: 128, signal: undefined, startError });
    });
    let exitSeen = false;
    child.once('exit', (code, signal) => {
      exitSeen = true;
      const pid = child.pid;
      // Whatever the main process left behind in its group goes with it.
      if (pid !== undefined) killGroup(pid, 'SIGKILL');
      const exitCode = code ?? (signal ? 128 + signalNumber(signal) : 1);
      // `exited` resolves only once the pid file is gone: a caller that saw the exit must not
      // find a record of a live process (a restarted agent would otherwise trust it).
      const info: ExitInfo = { exitCode, signal: signal ?? undefined, startError };
      void rm(spec.pidFile, { force: true }).then(
        () => resolveExit(info),
        () => resolveExit(info),
      );
    });
    const pid = child.pid ?? 0;
    const proc = new ContainerProcess(pid, exited);
    if (pid > 0) {
      const record: PidRecord = { pid, startTime: (await procStartTime(pid)) ?? '', argv: spec.argv };
      // Written after spawn: if the process already exited, the exit handler may have run
      // first; only (re)write while it is still alive.
      if (!exitSeen) await writeFile(spec.pidFile, JSON.stringify(record));
      if (exitSeen) await rm(spec.pidFile, { force: true });
    }
    return proc;
  }

  /** Sends `signal` to the main process only. */
  signal(signal: NodeJS.Signals): void {
    if (this.pid <= 0 || this.hasExited) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }

  /**
   * SIGTERM to the main process, then SIGKILL to the whole group once `graceMs` has passed
   * (or at once for graceMs <= 0).
   */
  async stop(graceMs: number): Promise<ExitInfo> {
    if (this.pid <= 0 || this.hasExited) return this.exited;
    if (graceMs > 0) {
      this.signal('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), graceMs)));
      const result = await Promise.race([this.exited, timedOut]);
      clearTimeout(timer);
      if (result !== 'timeout') return result;
    }
    killGroup(this.pid, 'SIGKILL');
    return this.exited;
  }
}

/**
 * Kills processes recorded in `<podDir>/containers/*.pid` that are still alive (same pid and
 * kernel start time): SIGTERM, up to `graceMs`, then SIGKILL to their group. Returns the
 * container names that had a live process.
 */
export async function killRecordedProcesses(podDir: string, graceMs: number): Promise<string[]> {
  const dir = join(podDir, 'containers');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.pid'));
  } catch {
    return [];
  }
  const alive: { name: string; pid: number }[] = [];
  for (const n of names) {
    const file = join(dir, n);
    try {
      const rec = JSON.parse(await readFile(file, 'utf8')) as PidRecord;
      if (rec.pid > 0 && rec.startTime !== '' && (await procStartTime(rec.pid)) === rec.startTime) {
        alive.push({ name: n.slice(0, -'.pid'.length), pid: rec.pid });
      }
    } catch {
      // unreadable record: nothing to kill
    }
    await rm(file, { force: true });
  }
  if (alive.length === 0) return [];
  for (const p of alive) {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      // gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    const living = await Promise.all(alive.map(async (p) => (await procStartTime(p.pid)) !== undefined));
    if (!living.some(Boolean)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const p of alive) killGroup(p.pid, 'SIGKILL');
  return alive.map((p) => p.name);
}
