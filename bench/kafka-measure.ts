// Runs one contender of the Kafka bench as a child process tree and measures it from outside:
// wall time, the CPU of the whole tree (GNU time's rusage of the waited child and every
// descendant it waited for: a distributed run's slot processes count), and each process's RSS
// peak (VmHWM from /proc, sampled while the tree runs, so a slot process that exits between
// two samples reports its last sampled peak).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { TributaryError } from '../runtime/src/errors.ts';

export interface ProcessPeak {
  pid: number;
  /** The executable's name (comm) and, for node, the script it runs. */
  name: string;
  hwmKiB: number;
}

export interface ChildRun {
  wallMs: number;
  cpuMs: number;
  stdout: string;
  peaks: ProcessPeak[];
}

const SAMPLE_MS = 200;

function parentOf(pid: string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 4 follows the comm in parentheses, which may itself contain spaces or ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[1]);
  } catch {
    return undefined;
  }
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const ppid = parentOf(d);
    if (ppid === undefined) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(d));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const p = todo.pop() as number;
    for (const c of children.get(p) ?? []) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

function peakOf(pid: number): ProcessPeak | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    if (!hwm) return undefined;
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const comm = (cmd[0] ?? '').split('/').at(-1) ?? '';
    const script = comm === 'node' ? (cmd.find((a) => a.endsWith('.ts') || a.endsWith('.js')) ?? '') : '';
    return { pid, name: script ? `${comm} ${script.split('/').slice(-2).join('/')}` : comm, hwmKiB: Number(hwm[1]) };
  } catch {
    return undefined;
  }
}

/** Runs `cmd args` under /usr/bin/time and resolves once it exited 0; rejects with its stderr otherwise. */
export function measureChild(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; onSample?: (peaks: readonly ProcessPeak[]) => void } = {},
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn('/usr/bin/time', ['-f', 'BENCHTIME %e %U %S', cmd, ...args], { env: opts.env ?? process.env });
    const peaks = new Map<number, ProcessPeak>();
    const sample = (): void => {
      if (p.pid === undefined) return;
      for (const pid of descendants(p.pid)) {
        const pk = peakOf(pid);
        if (pk && pk.hwmKiB >= (peaks.get(pid)?.hwmKiB ?? 0)) peaks.set(pid, pk);
      }
      opts.onSample?.([...peaks.values()]);
    };
    const timer = setInterval(sample, SAMPLE_MS);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', (e) => {
      clearInterval(timer);
      reject(new TributaryError('TRIB_JOB_FAILED', `${cmd} did not start`, { cause: e }));
    });
    p.on('close', (code) => {
      clearInterval(timer);
      const wallMs = performance.now() - t0;
      const m = /BENCHTIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(stderr);
      if (code !== 0 || !m) {
        reject(
          new TributaryError(
            'TRIB_JOB_FAILED',
            `${cmd} ${args.join(' ')} failed (exit ${code}): ${stderr.slice(-1500)}`,
          ),
        );
        return;
      }
      resolve({
        wallMs,
        cpuMs: (Number(m[2]) + Number(m[3])) * 1000,
        stdout,
        peaks: [...peaks.values()].filter((pk) => pk.name !== 'time'),
      });
    });
  });
}
