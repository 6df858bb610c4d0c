// What s3-faults.chaos.int.test.ts (checkpoint/storage) drives: `tributary run` as a user runs it
// (its stderr lines with their arrival times), the run's /metrics, and a delaying TCP proxy in front of the S3
// server — a real server cannot be made slow on demand, so the slowness is injected there
// (loopback only), while the server itself answers as always.
import { createServer, type AddressInfo } from 'node:net';
import { TributaryError } from '../errors.ts';
import { sleep, stderrOf, type Line, type Run } from './tributary-run.ts';

export * from './tributary-run.ts';
export { delayingProxy } from '../../../test/harness/delaying-proxy.ts';

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
