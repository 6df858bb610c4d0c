// `tributary run` as a child process for the fault-matrix tests (docs/fault-matrix.md): its stderr
// lines with their arrival times (pino JSON parsed), its exit, and the polls and matchers those
// tests share — what a user sees while a dependency fails, timed. Test-only.
import { spawn } from 'node:child_process';
import { TributaryError } from '../errors.ts';
import { REPO_NODE, REPO_ROOT } from './cli-process.ts';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Line {
  at: number;
  text: string;
  json?: { level: number; msg: string; [k: string]: unknown };
}

/** A running `tributary run`: its stderr lines as they come (with their arrival time) and its end. */
export interface Run {
  lines: Line[];
  exited: Promise<{ code: number | null; at: number }>;
  kill(): void;
}

/** A stderr 'data' listener that appends each complete line (parsed when it is JSON) to `lines`. */
export function collectLines(lines: Line[]): (d: Buffer) => void {
  let rest = '';
  return (d) => {
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop() ?? '';
    for (const text of parts) {
      let json: Line['json'];
      try {
        json = text.startsWith('{') ? (JSON.parse(text) as Line['json']) : undefined;
      } catch {
        json = undefined;
      }
      lines.push({ at: Date.now(), text, ...(json ? { json } : {}) });
    }
  };
}

export function tributaryRun(args: string[], env: Record<string, string> = {}): Run {
  const p = spawn(REPO_NODE, ['runtime/src/cli/main.ts', 'run', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info', ...env },
  });
  const lines: Line[] = [];
  p.stdout.resume();
  p.stderr.on('data', collectLines(lines));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    p.on('close', (code) => resolve({ code, at: Date.now() })),
  );
  return { lines, exited, kill: () => p.kill('SIGKILL') };
}

/** The run's exit code, or null when it still runs after `ms` (then killed): a hang. */
export async function exitWithin(r: Run, ms: number): Promise<number | null> {
  const end = await Promise.race([r.exited, sleep(ms).then(() => 'hung' as const)]);
  if (end === 'hung') {
    r.kill();
    await r.exited;
    return null;
  }
  return end.code;
}

/** The end of the run's stderr, for failure messages. */
export const stderrOf = (r: Run, chars = 6000): string =>
  r.lines
    .map((l) => l.text)
    .join('\n')
    .slice(-chars);
/** Log lines (pino JSON) whose message matches, at or after `after`. */
export const logged = (r: Run, pattern: RegExp, after = 0): Line[] =>
  r.lines.filter((l) => l.at >= after && l.json && pattern.test(l.json.msg));
/** The slots' final lines (`error TRIB_…: …`): one per failed attempt. */
export const failures = (r: Run, after = 0): Line[] =>
  r.lines.filter((l) => l.at >= after && l.text.startsWith('error TRIB_'));
export const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A row's measured line for docs/fault-matrix.md, on stderr: `<row> fault matrix: <cell>: <what>`. */
export const matrixReport =
  (row: string) =>
  (cell: string, m: string): void =>
    void process.stderr.write(`${row} fault matrix: ${cell}: ${m}\n`);

/** Polls `f` every 100 ms until it gives a value, failing after `ms` (or when the run ended). */
export async function until<T>(
  r: Run | undefined,
  what: string,
  ms: number,
  f: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  let ended = false;
  void r?.exited.then(() => (ended = true));
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (ended) throw new TributaryError('TRIB_INVARIANT', `the run ended before ${what}:\n${r ? stderrOf(r) : ''}`);
    if (Date.now() > end)
      throw new TributaryError('TRIB_INVARIANT', `no ${what} after ${ms / 1000} s:\n${r ? stderrOf(r) : ''}`);
    await sleep(100);
  }
}

/**
 * The running attempt's `tributary_dependency_unavailable` series (the /metrics address its latest
 * `slot listening` line names) that `match` accepts; undefined before the attempt serves one.
 */
export async function outageSeries(r: Run, match: (series: string) => boolean): Promise<string | undefined> {
  const addr = [...r.lines].reverse().find((l) => l.json?.msg === 'slot listening')?.json?.['metrics'];
  if (typeof addr !== 'string') return undefined;
  const text = await fetch(`http://${addr}/metrics`, { signal: AbortSignal.timeout(1000) })
    .then((res) => res.text())
    .catch(() => '');
  return text.split('\n').find((l) => l.startsWith('tributary_dependency_unavailable{') && match(l));
}

/**
 * Polls outageSeries every 200 ms until stopped; resolves with the first series at 1 that `match`
 * accepts, and when it was seen (undefined if never).
 */
export function watchOutageMetric(
  r: Run,
  match: (series: string) => boolean,
): {
  stop(): Promise<{ series: string; at: number } | undefined>;
} {
  let stopped = false;
  let seen: { series: string; at: number } | undefined;
  const loop = (async () => {
    while (!stopped && !seen) {
      const series = await outageSeries(r, (l) => l.endsWith(' 1') && match(l));
      if (series) seen = { series, at: Date.now() };
      await sleep(200);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return seen;
    },
  };
}
