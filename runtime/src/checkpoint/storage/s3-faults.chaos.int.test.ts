// The S3 row of the fault matrix (docs/fault-matrix.md): checkpoint storage on the local
// cluster's real S3 server (versitygw) failing under a job that `tributary run` runs as a user
// runs it (a slot thread under the local supervisor, datagen → Kafka exactly-once):
//
// * refused (the server killed, its port closed) during periodic checkpoints, and back: the
//   checkpoints fail and are counted, one warning names the endpoint, bucket and error, the
//   outage shows in /metrics, the job runs on, and the next checkpoint after S3 returns completes;
// * slow (every request held 2–5 s by a delaying proxy: a real server cannot be made slow on
//   demand): checkpoints take longer and still complete; nothing fails;
// * wrong credentials mid-run (the server restarted under other root keys: the job's key is no
//   longer valid): past tolerableFailedCheckpoints the job fails, the restarts cannot find their
//   checkpoint (never start fresh), and once the key is valid again the job restores from it;
// * down when the job must restore: bounded restarts, then TRIB_JOB_FAILED naming the endpoint and bucket;
// * hung (SIGSTOP) under the job and at its restart: every wait ends at the checkpoint timeout (a
//   manifest's spec.checkpointing.timeout, 2 s here), the run exits 1, never hangs.
//
// Every run's output is read by Kafka's own Java consumer (read_committed): each generated record
// exactly once. Measured detect/recover times go to stderr for the matrix. The S3 server is
// always restarted with the cluster's keys; only the cluster this test was given is touched
// (its env): never run it against a cluster other tests share.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { readTopicWithJava } from '../../../../test/harness/java-topic-reader.ts';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import { restartVersitygw, signalVersitygw, stopVersitygw } from '../../../../test/cluster/components/versitygw.ts';
import type { DependencyOutage } from '../../core/outage.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { deleteTopicsContaining, testBrokers } from '../../testing/kafka-topics.ts';
import {
  delayingProxy,
  exitWithin,
  freePort,
  lineAfter,
  logged,
  matrixReport,
  sample,
  stderrOf,
  tributaryRun,
  type Run,
} from '../../testing/s3-faults.ts';
import { stateStoreFor } from './state-store-for.ts';

const { Kafka, logLevel } = kafkajs;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const report = matrixReport('s3');

describe('S3 checkpoint storage faults under a running job (tributary run, real S3 server)', () => {
  const bs = testBrokers();
  const run = randomUUID().slice(0, 8);
  const bucket = process.env.TRIBUTARY_S3_BUCKET as string;
  const endpoint = process.env.TRIBUTARY_S3_ENDPOINT as string;
  const prefix = `s3://${bucket}/it-s3faults-${run}`;
  const paths = clusterPaths();
  const dir = mkdtempSync(join(tmpdir(), 'trib-s3faults-'));
  const kafka = new Kafka({ clientId: 'tributary-s3faults-it', brokers: bs, logLevel: logLevel.NOTHING });
  let s3Disturbed = false;
  const token = randomUUID();
  const tokenFile = join(dir, 'control-token');
  writeFileSync(tokenFile, token, { mode: 0o600 });

  /** S3 as the cluster runs it: its own keys, answering. */
  async function s3Back(): Promise<void> {
    await restartVersitygw(paths);
    s3Disturbed = false;
  }

  afterAll(async () => {
    if (s3Disturbed) await s3Back();
    await stateStoreFor(prefix)
      .removeTree(prefix)
      .catch(() => undefined);
    await deleteTopicsContaining(kafka, run);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  const graph = (name: string, n: number, rate: number): GraphSpec => ({
    sources: [{ name: 'gen', datagen: { generator: 'schema', rate, count: n, fields: { id: { type: 'sequence' } } } }],
    sinks: [
      {
        name: 'out',
        from: 'gen',
        kafka: {
          delivery: 'exactly-once',
          brokers: bs,
          topic: `it-s3faults-${name}-${run}`,
          transactionalIdPrefix: `it-s3faults-${name}-${run}`,
        },
      },
    ],
  });

  /** `tributary run` of a datagen → Kafka job: a slot thread, checkpoints every 300 ms on S3. */
  function start(
    name: string,
    o: {
      controlPort?: number;
      /** The checkpoint timeout (a manifest's spec.checkpointing.timeout; default 10 min). */
      timeout?: string;
      n: number;
      rate: number;
      tolerable: number;
      restarts: number;
      metricsPort: number;
      env?: Record<string, string>;
    },
  ): Run {
    const file = join(dir, `${name}.json`);
    const g = graph(name, o.n, o.rate);
    const manifest = {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'StreamJob',
      metadata: { name },
      spec: { graph: g, checkpointing: { timeout: o.timeout } },
    };
    writeFileSync(file, JSON.stringify(o.timeout ? manifest : g));
    return tributaryRun(
      [
        file,
        '--threads',
        '--parallelism',
        '1',
        '--max-restarts',
        String(o.restarts),
        '--checkpoint-interval',
        '300ms',
        '--tolerable-failed-checkpoints',
        String(o.tolerable),
        '--state-dir',
        `${prefix}/${name}`,
        '--metrics-port',
        String(o.metricsPort),
        ...(o.controlPort !== undefined ? ['--control-port', String(o.controlPort)] : []),
        '--no-progress',
      ],
      { TRIBUTARY_CONTROL_TOKEN_FILE: tokenFile, ...o.env },
    );
  }

  /** Slot 0's GET /v1/status `unavailable` (the outages it reports). */
  async function unavailableInStatus(controlPort: number): Promise<DependencyOutage[]> {
    const res = await fetch(`http://127.0.0.1:${controlPort}/v1/status`, {
      headers: { authorization: `Bearer ${token}` },
    }).catch(() => undefined);
    return res?.ok ? (((await res.json()) as { unavailable?: DependencyOutage[] }).unavailable ?? []) : [];
  }

  /** Kafka's Java consumer, read_committed: every id below `n` exactly once. */
  async function expectExactlyOnce(name: string, n: number): Promise<void> {
    const got = await readTopicWithJava(bs.join(','), `it-s3faults-${name}-${run}`, 'read_committed', 60_000);
    const ids = got.map((r) => (JSON.parse(r.value) as { id: number }).id).sort((a, b) => a - b);
    expect(ids.length, 'records read').toBe(n);
    expect(new Set(ids).size, 'distinct ids').toBe(n);
    expect(ids[0]).toBe(0);
    expect(ids[n - 1]).toBe(n - 1);
  }

  /** A job that failed for good: what it committed is each id once, with no gap (Java reader, read_committed). */
  async function expectCommittedPrefix(name: string): Promise<void> {
    const got = await readTopicWithJava(bs.join(','), `it-s3faults-${name}-${run}`, 'read_committed', 60_000);
    const ids = got.map((x) => (JSON.parse(x.value) as { id: number }).id).sort((a, b) => a - b);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids).toEqual([...ids.keys()]);
  }

  const unavailable = (port: number): Promise<number> =>
    sample(port, 'tributary_dependency_unavailable', { dependency: 's3', component: 'checkpoint storage' });
  const aborted = (port: number): Promise<number> =>
    sample(port, 'tributary_checkpoints_total', { kind: 'checkpoint', result: 'aborted' });

  it('refused during periodic checkpoints, then back: counted, one warning, the job runs on, the next checkpoint completes', async () => {
    const n = 5000;
    const metricsPort = await freePort();
    const controlPort = await freePort();
    const r = start('refused', { n, rate: 400, tolerable: 1000, restarts: 0, metricsPort, controlPort });
    try {
      await lineAfter(r, /^checkpoint completed$/, 0, 60_000);
      const t0 = Date.now();
      s3Disturbed = true;
      await stopVersitygw(paths);
      const warned = await lineAfter(r, /^checkpoint storage .* failing for/, t0, 30_000);
      expect(warned.json).toMatchObject({ level: 40, storage: `${endpoint} bucket "${bucket}"` });
      expect(warned.json?.msg).toMatch(
        new RegExp(`S3 bucket "${bucket}" answered .*ECONNREFUSED.* at ${endpoint}.*tolerableFailedCheckpoints 1000`),
      );
      const detectMs = warned.at - t0;
      await expect.poll(() => unavailable(metricsPort), { timeout: 10_000 }).toBe(1);
      // Slot 0 names the outage in its status: dependency, component, endpoint and bucket, the error, the bound.
      const [outage] = await unavailableInStatus(controlPort);
      expect(outage).toMatchObject({
        dependency: 's3',
        component: 'checkpoint storage',
        target: `${endpoint} bucket "${bucket}"`,
        error: expect.stringMatching(/ECONNREFUSED/) as unknown,
        bound: 'fails after 1001 consecutive failed checkpoints (tolerableFailedCheckpoints 1000)',
      });
      expect(JSON.stringify(outage)).not.toContain(process.env.TRIBUTARY_S3_SECRET_ACCESS_KEY as string);
      const recordsAtOutage = await sample(metricsPort, 'tributary_records_in_total', {});
      await sleep(4000); // the outage lasts: more checkpoints fail, no more warnings
      expect(await sample(metricsPort, 'tributary_records_in_total', {}), 'the job runs on').toBeGreaterThan(
        recordsAtOutage,
      );
      const abortedDuring = await aborted(metricsPort);
      expect(abortedDuring).toBeGreaterThanOrEqual(2);
      const t1 = Date.now();
      await s3Back();
      const back = await lineAfter(r, /^checkpoints complete again after/, t1, 60_000);
      const recoverMs = back.at - t1;
      expect(logged(r, /^checkpoint storage .* failing for/).length, 'one warning, not one per checkpoint').toBe(1);
      await expect.poll(() => unavailable(metricsPort), { timeout: 10_000 }).toBe(0);
      expect(await unavailableInStatus(controlPort)).toEqual([]);
      expect(await exitWithin(r, 60_000), stderrOf(r).slice(-3000)).toBe(0);
      expect(logged(r, /job failed/).length, 'never restarted').toBe(0);
      await expectExactlyOnce('refused', n);
      report(
        'refused during periodic checkpoints',
        `detect ${detectMs} ms (S3 killed → warning); ${abortedDuring} checkpoints aborted in ~5 s; ` +
          `recover ${recoverMs} ms (S3 restart begun → next checkpoint completed): ${warned.json?.msg}`,
      );
    } finally {
      r.kill();
      if (s3Disturbed) await s3Back();
    }
  }, 150_000);

  it('slow (each request held 2–5 s): checkpoints take longer and still complete; nothing fails, nothing is warned', async () => {
    const n = 5000;
    const metricsPort = await freePort();
    const url = new URL(endpoint);
    // Slow while the input flows, from the first completed checkpoint on: the start-up's and the
    // end's S3 calls (the final checkpoint's, the supervisor's last look) go at full speed.
    let slow = false;
    const proxy = await delayingProxy({ host: url.hostname, port: Number(url.port) }, () =>
      slow ? 2000 + Math.random() * 3000 : 0,
    );
    const r = start('slow', {
      n,
      rate: 200,
      tolerable: 3,
      restarts: 0,
      metricsPort,
      env: { TRIBUTARY_S3_ENDPOINT: proxy.endpoint },
    });
    try {
      await lineAfter(r, /^checkpoint completed$/, 0, 60_000);
      slow = true;
      const t0 = Date.now();
      const ended = await lineAfter(r, /^input ended/, t0, 60_000);
      slow = false;
      expect(await exitWithin(r, 120_000), stderrOf(r).slice(-3000)).toBe(0);
      const completed = logged(r, /^checkpoint completed$/, t0)
        .filter((l) => l.at <= ended.at)
        .map((l) => Number(l.json?.['ms']));
      expect(completed.length, 'checkpoints completed through the slow S3').toBeGreaterThanOrEqual(2);
      expect(logged(r, /failing for|checkpoint aborted|job failed/), 'no failure, no warning').toEqual([]);
      await expectExactlyOnce('slow', n);
      report(
        'slow (2–5 s per request)',
        `${completed.length} checkpoints completed while slow, ${Math.min(...completed)}–${Math.max(...completed)} ms each ` +
          `(300 ms interval; fast S3: ~15–60 ms); no aborts at the 10 min default timeout`,
      );
    } finally {
      r.kill();
      await proxy.close();
    }
  }, 180_000);

  it('wrong credentials mid-run: past tolerableFailedCheckpoints the job fails, restarts never start fresh, and it restores once the key is valid', async () => {
    const n = 4000;
    const metricsPort = await freePort();
    const r = start('creds', { n, rate: 400, tolerable: 3, restarts: 4, metricsPort });
    try {
      await lineAfter(r, /^checkpoint completed$/, 0, 60_000);
      const t0 = Date.now();
      s3Disturbed = true;
      // The server restarted under other root keys: the job's key is unknown to it now.
      await restartVersitygw(paths, { accessKeyId: `ROTATED${run.toUpperCase()}`, secretAccessKey: randomUUID() });
      const rejected = `S3 bucket "${bucket}" answered (InvalidAccessKeyId|XAdminUserNotFound) \\(HTTP 40[34]\\) at ${endpoint}`;
      // The first failure may fall into the restart itself (the port closed for a moment:
      // ECONNREFUSED); the restart's lookup below meets the rejected key.
      const warned = await lineAfter(r, /^checkpoint storage .* failing for/, t0, 30_000);
      expect(warned.json?.msg).toMatch(new RegExp(`${rejected}|answered ECONNREFUSED at ${endpoint}`));
      const failed = await lineAfter(
        r,
        /TRIB_CHECKPOINT_FAILED.*4 consecutive checkpoints failed \(tolerableFailedCheckpoints 3\)/,
        t0,
        30_000,
      );
      const detectMs = failed.at - t0;
      // The restart cannot read the state storage: that attempt fails, it does not start empty.
      const noRestore = await lineAfter(r, /^job failed; restarting all slots$/, failed.at, 30_000).then(() =>
        lineAfter(r, /cannot find the latest checkpoint/, failed.at, 30_000),
      );
      expect(noRestore.text).toMatch(new RegExp(`(InvalidAccessKeyId|XAdminUserNotFound).* at ${endpoint}`));
      const t1 = Date.now();
      await s3Back();
      const restored = await lineAfter(r, /^slots started$/, t1, 60_000);
      expect(String(restored.json?.['restoreFrom'])).toMatch(/\/checkpoints\/chk-\d+$/);
      const next = await lineAfter(r, /^checkpoint completed$/, t1, 60_000);
      expect(await exitWithin(r, 60_000), stderrOf(r).slice(-3000)).toBe(0);
      expect(logged(r, /^starting with empty state$/).length, 'only the first attempt starts empty').toBe(1);
      await expectExactlyOnce('creds', n);
      report(
        'wrong credentials mid-run',
        `detect ${detectMs} ms (key revoked → TRIB_CHECKPOINT_FAILED, bound 3 failed checkpoints at 300 ms); ` +
          `recover ${next.at - t1} ms (key valid again → restored attempt's first checkpoint): ${failed.text.slice(0, 400)}`,
      );
    } finally {
      r.kill();
      if (s3Disturbed) await s3Back();
    }
  }, 180_000);

  it('down when the job must restore: bounded restarts, then TRIB_JOB_FAILED naming the endpoint and bucket; never a fresh start', async () => {
    const metricsPort = await freePort();
    const r = start('restore', { n: 1_000_000, rate: 400, tolerable: 2, restarts: 2, metricsPort });
    try {
      await lineAfter(r, /^checkpoint completed$/, 0, 60_000);
      await sleep(1500); // checkpoints with output behind them
      const t0 = Date.now();
      s3Disturbed = true;
      await stopVersitygw(paths);
      const code = await exitWithin(r, 90_000);
      expect(code, `the run ends by itself\n${stderrOf(r).slice(-3000)}`).toBe(1);
      const last = r.lines.find((l) => l.text.startsWith('error TRIB_JOB_FAILED: '));
      expect(last?.text, stderrOf(r).slice(-3000)).toMatch(
        new RegExp(
          `restart limit 2 reached; last failure: cannot find the latest checkpoint in ${prefix}/restore: ` +
            `.*S3 bucket "${bucket}" answered .*ECONNREFUSED.* at ${endpoint}`,
        ),
      );
      expect(logged(r, /^starting with empty state$/).length, 'never started fresh').toBe(1);
      expect(logged(r, /^slots started$/).length, 'no attempt started without its checkpoint').toBe(1);
      const detectMs = last!.at - t0;
      await s3Back();
      await expectCommittedPrefix('restore');
      report(
        'down at restore',
        `exit 1 ${detectMs} ms after S3 went (2 failed checkpoints + 2 restarts): ${last!.text}`,
      );
    } finally {
      r.kill();
      if (s3Disturbed) await s3Back();
    }
  }, 180_000);

  it('hung (SIGSTOP) during periodic checkpoints and at the restore: every wait ends at the checkpoint timeout', async () => {
    const metricsPort = await freePort();
    const r = start('hung', { n: 1_000_000, rate: 400, tolerable: 2, restarts: 1, metricsPort, timeout: '2s' });
    try {
      await lineAfter(r, /^checkpoint completed$/, 0, 60_000);
      await sleep(1000);
      const t0 = Date.now();
      s3Disturbed = true;
      signalVersitygw(paths, 'SIGSTOP');
      const warned = await lineAfter(r, /^checkpoint storage .* failing for/, t0, 30_000);
      expect(warned.json?.msg).toMatch(
        /expired after 2000 ms while (recording its id in|writing its metadata to) the state storage/,
      );
      const code = await exitWithin(r, 90_000);
      expect(code, `the run ends by itself\n${stderrOf(r).slice(-3000)}`).toBe(1);
      const last = r.lines.find((l) => l.text.startsWith('error TRIB_JOB_FAILED: '));
      expect(last?.text, stderrOf(r).slice(-3000)).toMatch(
        /restart limit 1 reached; last failure: cannot find the latest checkpoint/,
      );
      expect(logged(r, /^starting with empty state$/).length, 'never started fresh').toBe(1);
      await s3Back();
      await expectCommittedPrefix('hung');
      report('hung', `warning ${warned.at - t0} ms after SIGSTOP; exit 1 after ${last!.at - t0} ms: ${last!.text}`);
    } finally {
      r.kill();
      if (s3Disturbed) await s3Back();
    }
  }, 180_000);
});
