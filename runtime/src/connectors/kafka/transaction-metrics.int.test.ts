// The exactly-once Kafka sink's transaction metrics, scraped from the real /metrics endpoint of
// `tributary run --metrics-port 0` run as a child process against the real broker:
//   * clean run: what the metrics say was committed is what a read_committed reader reads
//     (records, key+value bytes), one visibility latency per record, nothing aborted, no open
//     transaction once the output is committed — and the start logs no warn-level line;
//   * crash: the run is SIGKILLed while a transaction holds records; the run restored from the
//     latest checkpoint fences it and counts the abort with the bytes it held.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestCheckpointPath } from '../../checkpoint/coordinator.ts';
import { readTopic } from '../../testing/kafka-reader.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../../testing/kafka-topics.ts';

const { Kafka, logLevel } = kafkajs;
const ROOT = resolve(import.meta.dirname, '../../../..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const SINK = 'tributary_kafka_sink_';

interface Run {
  child: ChildProcess;
  /** stderr lines (pino JSON) so far. */
  lines: string[];
  metricsUrl: Promise<string>;
  exited: Promise<number | null>;
}

function startRun(jobFile: string, args: string[]): Run {
  const child = spawn(
    NODE,
    ['runtime/src/cli/main.ts', 'run', jobFile, '--metrics-port', '0', '--no-progress', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const lines: string[] = [];
  let found: (url: string) => void = () => {};
  const metricsUrl = new Promise<string>((r) => (found = r));
  let rest = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const l of parts) {
      if (l.trim() === '') continue;
      lines.push(l);
      if (l.includes('"metrics endpoint"')) found((JSON.parse(l) as { url: string }).url);
    }
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  // A run that ends before it serves /metrics (a bad graph, a failed start) fails the test at once.
  const served = Promise.race([
    metricsUrl,
    exited.then((code) =>
      Promise.reject(new Error(`tributary run exited (${code}) before serving /metrics:\n${lines.join('\n')}`)),
    ),
  ]);
  served.catch(() => undefined);
  return { child, lines, metricsUrl: served, exited };
}

type Sample = { name: string; labels: Record<string, string>; value: number };

async function scrape(url: string): Promise<Sample[]> {
  const text = await (await fetch(url)).text();
  const out: Sample[] = [];
  for (const l of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(l);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[k as string] = v as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples of `name` whose labels include `where`. */
function sum(samples: Sample[], name: string, where: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

async function waitFor(url: string, ok: (s: Sample[]) => boolean, what: string, timeoutMs = 60_000): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs;
  let last: Sample[] = [];
  while (Date.now() < deadline) {
    last = await scrape(url);
    if (ok(last)) return last;
    await sleep(100);
  }
  throw new Error(
    `timed out waiting for ${what}; last /metrics: ${JSON.stringify(last.filter((s) => s.name.startsWith(SINK)))}`,
  );
}

describe('exactly-once Kafka sink metrics through tributary run --metrics-port (real Kafka)', () => {
  const bs = testBrokers();
  const run = randomUUID().slice(0, 8);
  let kafka: KafkaClient;
  let dir = '';
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'tributary-txn-metrics-it', brokers: bs, logLevel: logLevel.NOTHING });
    dir = await mkdtemp(join(tmpdir(), 'trib-txn-metrics-'));
    // No warm-up: the cluster is ready only once a fresh broker serves group and transaction
    // coordinators (test/cluster/components/kafka-coordinators.ts), so the coordinator lookups
    // kafkajs logs at error level while they are created are never this job's.
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await deleteTopicsContaining(kafka, run);
    await rm(dir, { recursive: true, force: true });
  });

  async function jobFile(name: string, input: string, output: string, interval: string): Promise<string> {
    const job = {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'StreamJob',
      metadata: { name },
      spec: {
        replicas: 1,
        checkpointing: { interval },
        graph: {
          sources: [
            {
              name: 'events',
              kafka: { brokers: bs.join(','), topic: input },
              timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
            },
          ],
          steps: [{ name: 'tagged', from: 'events', map: { id: 'id', k: 'k', ts: 'ts', tag: '"metrics"' } }],
          sinks: [
            {
              name: 'out',
              from: 'tagged',
              kafka: {
                brokers: bs.join(','),
                topic: output,
                key: 'k',
                delivery: 'exactly-once',
                transactionalIdPrefix: `it-txn-${output}`,
              },
            },
          ],
        },
      },
    };
    const f = join(dir, `${name}.json`);
    await writeFile(f, JSON.stringify(job));
    return f;
  }

  /**
   * Writes `chunks` chunks of `per` records, `pauseMs` apart, ids from `from`; stops early when `stop()` says so.
   * Resolves with the count written.
   */
  async function feed(
    topic: string,
    o: { from: number; chunks: number; per: number; pauseMs: number; stop?: () => boolean },
  ): Promise<number> {
    const producer = inputProducer(kafka);
    await producer.connect();
    let n = 0;
    for (let c = 0; c < o.chunks && !(o.stop?.() ?? false); c++) {
      const messages = Array.from({ length: o.per }, (_, j) => {
        const id = o.from + c * o.per + j;
        return { key: `k${id % 17}`, value: JSON.stringify({ id, k: `k${id % 17}`, ts: 1_700_000_000_000 + id }) };
      });
      await producer.send({ topic, messages });
      n += o.per;
      if (o.pauseMs > 0) await sleep(o.pauseMs);
    }
    await producer.disconnect();
    return n;
  }

  it('clean run: committed records and bytes = what read_committed reads, one latency per record, nothing aborted or open; no warn-level log line', async () => {
    const input = `it-txn-m-in-${run}`;
    const output = `it-txn-m-out-${run}`;
    await createTopics(kafka, { [input]: 2, [output]: 2 });
    const f = await jobFile(`txn-metrics-${run}`, input, output, '500ms');
    const r = startRun(f, ['--state-dir', join(dir, 'state-clean')]);
    children.push(r.child);
    const url = await r.metricsUrl;
    const total = await feed(input, { from: 0, chunks: 8, per: 250, pauseMs: 250 });

    const s = await waitFor(
      url,
      (x) => sum(x, `${SINK}committed_records_total`) >= total,
      `${total} committed records`,
    );
    const out = { sink: 'out', slot: '0' };
    const committedTxns = sum(s, `${SINK}transactions_committed_total`, out);
    expect(committedTxns).toBeGreaterThan(1); // several checkpoints carried data
    expect(sum(s, `${SINK}transactions_begun_total`, out)).toBe(committedTxns);
    expect(sum(s, `${SINK}transactions_aborted_total`, out)).toBe(0);
    expect(sum(s, `${SINK}aborted_bytes_total`, out)).toBe(0);
    expect(sum(s, `${SINK}committed_records_total`, out)).toBe(total);
    expect(sum(s, `${SINK}visibility_latency_seconds_count`, out)).toBe(total);
    const latencySum = sum(s, `${SINK}visibility_latency_seconds_sum`, out);
    expect(latencySum).toBeGreaterThan(0);
    expect(latencySum / total).toBeLessThan(30);
    expect(sum(s, `${SINK}visibility_latency_seconds_bucket`, { ...out, le: '+Inf' })).toBe(total);
    // Nothing arrives any more: no transaction is open.
    expect(sum(s, `${SINK}oldest_open_transaction_seconds`, out)).toBe(0);

    const read = await readTopic(kafka, output, { expected: total, timeoutMs: 60_000, settleMs: 1500 });
    expect(read.length).toBe(total);
    const bytes = read.reduce((a, m) => a + Buffer.byteLength(m.key ?? '') + Buffer.byteLength(m.value), 0);
    expect(sum(s, `${SINK}committed_bytes_total`, out)).toBe(bytes);

    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    const bad = r.lines.filter((l) => {
      try {
        return (
          (JSON.parse(l) as { level?: number }).level === undefined || (JSON.parse(l) as { level: number }).level >= 40
        );
      } catch {
        return true; // not pino's JSON: Node or a library printed around the log
      }
    });
    expect(bad, `warn-level or foreign stderr lines:\n${bad.join('\n')}`).toEqual([]);
  }, 180_000);

  it('crash: the run restored from the latest checkpoint fences the open transaction and counts it aborted with its bytes', async () => {
    const input = `it-txn-c-in-${run}`;
    const output = `it-txn-c-out-${run}`;
    await createTopics(kafka, { [input]: 2, [output]: 2 });
    const stateDir = join(dir, 'state-crash');
    // A long interval keeps each transaction open for seconds while records keep arriving.
    const f = await jobFile(`txn-crash-${run}`, input, output, '3s');
    const a = startRun(f, ['--state-dir', stateDir]);
    children.push(a.child);
    const urlA = await a.metricsUrl;
    let stopFeeding = false;
    const feeding = feed(input, { from: 0, chunks: 400, per: 50, pauseMs: 100, stop: () => stopFeeding });

    // At least one checkpoint committed (there is one to restore) and a transaction open for
    // longer than the open-transactions file's write interval: then kill.
    await waitFor(
      urlA,
      (x) =>
        sum(x, `${SINK}transactions_committed_total`) >= 1 && sum(x, `${SINK}oldest_open_transaction_seconds`) >= 1.6,
      'a commit, then an open transaction older than 1.6 s',
    );
    a.child.kill('SIGKILL');
    await a.exited;
    const restoreFrom = await latestCheckpointPath(stateDir);
    expect(restoreFrom).toBeDefined();

    const b = startRun(f, ['--state-dir', stateDir, '--restore', restoreFrom as string]);
    children.push(b.child);
    const urlB = await b.metricsUrl;
    const s = await waitFor(
      urlB,
      (x) => sum(x, `${SINK}transactions_aborted_total`, { reason: 'recovery' }) >= 1,
      'an abort counted by the recovery',
      30_000,
    );
    expect(
      sum(s, `${SINK}transactions_aborted_total`, { sink: 'out', slot: '0', reason: 'recovery' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sum(s, `${SINK}aborted_bytes_total`, { sink: 'out', slot: '0' })).toBeGreaterThan(0);

    // Exactly once all the same: every input record is read once from the output.
    stopFeeding = true;
    const total = await feeding;
    const read = await readTopic(kafka, output, { expected: total, timeoutMs: 60_000, settleMs: 1500 });
    expect(new Set(read.map((m) => (JSON.parse(m.value) as { id: number }).id)).size).toBe(total);
    expect(read.length).toBe(total);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  }, 180_000);
});
