// `tributary run` as a child process for the Kudu fault tests (kudu-*.faults.chaos.int.test.ts):
// its stderr lines with their arrival times (pino JSON parsed), its exit, and the polls and
// matchers those tests share. Test-only: nothing shipped imports it.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { TributaryError } from '../../errors.ts';

const root = join(import.meta.dirname, '../../../..');
const node = join(root, 'node_modules/.bin/node');
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Line {
  at: number;
  text: string;
  json?: { level: number; msg: string; [k: string]: unknown };
}

export interface Run {
  lines: Line[];
  exited: Promise<{ code: number | null; at: number }>;
  kill(): void;
}

export function tributaryRun(args: string[]): Run {
  const p = spawn(node, ['runtime/src/cli/main.ts', 'run', ...args], {
    cwd: root,
    env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info' },
  });
  const lines: Line[] = [];
  let rest = '';
  p.stdout.resume();
  p.stderr.on('data', (d: Buffer) => {
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
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    p.on('close', (code) => resolve({ code, at: Date.now() })),
  );
  return { lines, exited, kill: () => p.kill('SIGKILL') };
}

export const stderrOf = (r: Run, chars = 6000): string =>
  r.lines
    .map((l) => l.text)
    .join('\n')
    .slice(-chars);
export const logged = (r: Run, pattern: RegExp, after = 0): Line[] =>
  r.lines.filter((l) => l.at >= after && l.json && pattern.test(l.json.msg));
/** The slots' final lines (`error TRIB_…: …`): one per failed attempt. */
export const failures = (r: Run, after = 0): Line[] =>
  r.lines.filter((l) => l.at >= after && l.text.startsWith('error TRIB_'));
export const report = (cell: string, m: string): void =>
  void process.stderr.write(`kudu fault matrix: ${cell}: ${m}\n`);
export const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

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
 * Polls the running attempt's /metrics (the address its latest `slot listening` line names) every
 * 200 ms until stopped; resolves with the first `tributary_dependency_unavailable` series at 1 that
 * `match` accepts, and when it was seen (undefined if never).
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
      const addr = [...r.lines].reverse().find((l) => l.json?.msg === 'slot listening')?.json?.['metrics'];
      if (typeof addr === 'string') {
        const text = await fetch(`http://${addr}/metrics`, { signal: AbortSignal.timeout(1000) })
          .then((res) => res.text())
          .catch(() => '');
        const series = text
          .split('\n')
          .find((l) => l.startsWith('tributary_dependency_unavailable{') && l.endsWith(' 1') && match(l));
        if (series) seen = { series, at: Date.now() };
      }
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
