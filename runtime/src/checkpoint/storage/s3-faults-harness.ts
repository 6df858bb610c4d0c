// What s3-faults.chaos.int.test.ts drives: `tributary run` as a user runs it (its stderr lines
// with their arrival times), the run's /metrics, and a delaying TCP proxy in front of the S3
// server — a real server cannot be made slow on demand, so the slowness is injected there
// (loopback only), while the server itself answers as always.
import { spawn } from 'node:child_process';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { TributaryError } from '../../errors.ts';

const root = join(import.meta.dirname, '../../../..');
const node = join(root, 'node_modules/.bin/node');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Line {
  at: number;
  text: string;
  json?: { level: number; msg: string; [k: string]: unknown };
}

/** A running `tributary run`: its stderr lines as they come and its end. */
export interface Run {
  lines: Line[];
  exited: Promise<{ code: number | null; at: number }>;
  kill(): void;
}

export function tributaryRun(args: string[], env: Record<string, string> = {}): Run {
  const p = spawn(node, ['runtime/src/cli/main.ts', 'run', ...args], {
    cwd: root,
    env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info', ...env },
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

export const stderrOf = (r: Run): string => r.lines.map((l) => l.text).join('\n');
export const logged = (r: Run, pattern: RegExp, from = 0): Line[] =>
  r.lines.filter((l) => l.at >= from && l.json && pattern.test(l.json.msg));

/** The first line whose message (or whole text) matches `pattern`, at or after `from`; rejects after `ms`. */
export async function lineAfter(r: Run, pattern: RegExp, from: number, ms: number): Promise<Line> {
  const deadline = Date.now() + ms;
  for (;;) {
    const l = r.lines.find((x) => x.at >= from && (pattern.test(x.json?.msg ?? '') || pattern.test(x.text)));
    if (l) return l;
    if (Date.now() > deadline)
      throw new TributaryError(
        'TRIB_INVARIANT',
        `no line matching ${String(pattern)} within ${ms} ms; the run's stderr ends:\n${stderrOf(r).slice(-3000)}`,
      );
    await sleep(50);
  }
}

/** The value of the first sample of `metric` whose labels include every one of `labels` (0 when absent). */
export async function sample(metricsPort: number, metric: string, labels: Record<string, string>): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return 0;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A TCP proxy on 127.0.0.1 to `target` that holds each request (a chunk from the client after
 * it was quiet for 100 ms) for `delayMs()` before passing it on, in order; answers pass at once.
 */
export async function delayingProxy(
  target: { host: string; port: number },
  delayMs: () => number,
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let chain = Promise.resolve();
    let lastAt = 0;
    client.on('data', (d: Buffer) => {
      const now = Date.now();
      const wait = now - lastAt > 100 ? delayMs() : 0;
      lastAt = now;
      chain = chain.then(() => sleep(wait)).then(() => void (upstream.destroyed || upstream.write(d)));
    });
    upstream.pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
