import { spawn, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterError } from './errors.ts';

/** A component process started by `up`; `down` stops it only if the pid still runs the same program. */
export interface Started {
  readonly component: string;
  readonly pid: number;
  /** Seconds since boot when the process started (field 22 of /proc/pid/stat): pid-reuse guard. */
  readonly startTicks: number;
  readonly logFile: string;
}

export function startDetached(
  component: string,
  command: string,
  args: readonly string[],
  logFile: string,
  options: SpawnOptions = {},
): Started {
  const fd = openSync(logFile, 'a');
  try {
    // detached: its own process group, so `down` can signal the whole tree and the
    // component outlives the CLI that started it.
    const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
    if (child.pid === undefined) {
      throw new ClusterError('CLUSTER_START_FAILED', component, `could not spawn ${command}`, { logFile });
    }
    return { component, pid: child.pid, startTicks: startTicksOf(child.pid) ?? 0, logFile };
  } finally {
    closeSync(fd);
  }
}

export function startTicksOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parens; fields after the last ')' are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[19]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(p: Pick<Started, 'pid' | 'startTicks'>): boolean {
  const ticks = startTicksOf(p.pid);
  if (ticks === undefined) return false;
  if (p.startTicks !== 0 && ticks !== p.startTicks) return false;
  try {
    const state = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    return state.slice(state.lastIndexOf(')') + 2, state.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** SIGTERM the process group, wait up to `graceMs`, then SIGKILL it. */
export async function stopProcess(p: Started, graceMs = 15_000): Promise<void> {
  if (!isAlive(p)) return;
  signalGroup(p.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(p)) return;
    await sleep(100);
  }
  signalGroup(p.pid, 'SIGKILL');
  for (let i = 0; i < 50 && isAlive(p); i++) await sleep(100);
}

/** SIGKILLs the process group at once (a crash, as a test means it) and waits (up to 5 s) until it is gone. */
export async function killProcess(p: Started): Promise<void> {
  if (!isAlive(p)) return;
  signalGroup(p.pid, 'SIGKILL');
  for (let i = 0; i < 100 && isAlive(p); i++) await sleep(50);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export async function assertPortFree(component: string, port: number, host = '127.0.0.1'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new ClusterError(
          'CLUSTER_PORT_IN_USE',
          component,
          `port ${host}:${port} is already in use by another process (${err.code}); ` +
            `stop it, or run \`npm run cluster -- down\` if it is a stale cluster`,
          { cause: err },
        ),
      );
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}

export async function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Polls `check` until it returns true; fails early, naming the component and its log, if the
 * process (or any of the processes the check depends on) died, and after `timeoutMs` otherwise.
 */
export async function waitUntil(
  p: Started | readonly Started[],
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const watched = Array.isArray(p) ? p : [p as Started];
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const dead = watched.find((w) => !isAlive(w));
    if (dead) {
      throw new ClusterError('CLUSTER_START_FAILED', dead.component, `exited before ${what}`, {
        logFile: dead.logFile,
      });
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(250);
  }
  throw new ClusterError('CLUSTER_NOT_READY', watched[0]!.component, `not ${what} after ${timeoutMs / 1000}s`, {
    logFile: watched[0]!.logFile,
    cause: lastError,
  });
}

/** Runs a command to completion, output appended to `logFile`; throws with the log on failure. */
export async function runToLog(
  component: string,
  command: string,
  args: readonly string[],
  logFile: string,
  options: SpawnOptions = {},
): Promise<void> {
  const fd = openSync(logFile, 'a');
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(command, args, { ...options, stdio: ['ignore', fd, fd] });
      child.once('error', reject);
      child.once('exit', (c) => resolve(c));
    }).catch((err: unknown) => {
      throw new ClusterError('CLUSTER_MISSING_TOOL', component, `cannot run ${command}`, { logFile, cause: err });
    });
    if (code !== 0) {
      throw new ClusterError(
        'CLUSTER_BUILD_FAILED',
        component,
        `\`${command} ${args.join(' ')}\` exited with ${code}`,
        {
          logFile,
        },
      );
    }
  } finally {
    closeSync(fd);
  }
}
