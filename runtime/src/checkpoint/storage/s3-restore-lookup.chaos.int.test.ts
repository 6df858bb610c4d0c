// The "hung" S3 row of the fault matrix (docs/fault-matrix.md) on a slot pod's path: a slot
// started as a pod starts it (runtime/src/main.ts with the pod's environment and a job config
// carrying `restoreLatest`, as the operator writes it for a restart) looks up the newest
// checkpoint itself before anything else. With the real S3 server frozen (SIGSTOP: the port
// accepts, nothing answers) the lookup ends at the checkpoint timeout with TRIB_STATE_STORAGE
// naming the endpoint and bucket, and the slot exits 1 (the pod's restart policy retries);
// thawed within the bound, the slot restores the newest checkpoint, which the test reads from the
// bucket itself. Before: the slot waited for the SDK's 120 s request timeouts and retries, silently.
// The server is frozen for a few seconds at a time and always thawed in `finally`.
//
// The same for the restore's reads after the lookup, on a first deploy from a checkpoint or
// savepoint (`restoreFrom`, no lookup): a read that receives nothing for the S3 request timeout
// (TRIBUTARY_S3_REQUEST_TIMEOUT_MS, a few seconds here) ends the slot with TRIB_STATE_STORAGE
// naming the storage, the object and the bound, after a warning; a freeze shorter than the bound
// is ridden out and the restore completes. Before: the read waited silently for the SDK.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import { s3Client, s3Keys, signalVersitygw } from '../../../../test/cluster/components/versitygw.ts';
import { CONTRACT_VERSION, type JobConfig } from '../../control/contract.ts';
import { lookupWarnAfterMs } from '../../control/restore-latest.ts';
import {
  esc,
  exitWithin,
  freePort,
  lineAfter,
  logged,
  matrixReport,
  stderrOf,
  type Run,
} from '../../testing/s3-faults.ts';
import { launchPodSlot, podSlotToken } from '../../testing/pod-slot.ts';
import { stateStoreFor } from './state-store-for.ts';

const report = matrixReport('s3');
/** The checkpoint timeout of the restarted slots: the lookup's bound. */
const TIMEOUT_MS = 3000;
/** TRIBUTARY_S3_REQUEST_TIMEOUT_MS of the slots restoring from a path: a read's stall bound. */
const STALL_MS = 3000;

describe('a slot pod looking up its restore point (restoreLatest) while S3 is frozen', () => {
  const run = randomUUID().slice(0, 8);
  const bucket = process.env.TRIBUTARY_S3_BUCKET as string;
  const endpoint = process.env.TRIBUTARY_S3_ENDPOINT as string;
  const stateDir = `s3://${bucket}/it-s3lookup-${run}`;
  const paths = clusterPaths();
  const dir = mkdtempSync(join(tmpdir(), 'trib-s3lookup-'));
  const token = podSlotToken(dir, randomUUID());
  let frozen = false;
  const thaw = (): void => {
    if (frozen) signalVersitygw(paths, 'SIGCONT');
    frozen = false;
  };

  afterAll(async () => {
    thaw();
    await stateStoreFor(stateDir)
      .removeTree(stateDir)
      .catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const N = 300;
  const config = (deployment: string, restoreLatest?: JobConfig['restoreLatest']): JobConfig => ({
    contractVersion: CONTRACT_VERSION,
    jobName: `lookup-${run}`,
    graph: {
      sources: [
        { name: 'gen', datagen: { generator: 'schema', rate: 600, count: N, fields: { id: { type: 'sequence' } } } },
      ],
      sinks: [{ name: 'out', from: 'gen', console: {} }],
    },
    parallelism: 1,
    maxParallelism: 8,
    checkpointing: { intervalMs: 200, timeoutMs: TIMEOUT_MS, retained: 3 },
    stateDir,
    deployment,
    allowNonRestoredState: false,
    ...(restoreLatest ? { restoreLatest } : {}),
  });

  /** One slot process, as a pod runs it: its log lines (stderr) and the records its console sink printed. */
  async function slot(
    deployment: string,
    cfg: JobConfig,
    env: Record<string, string> = {},
  ): Promise<Run & { records: () => number }> {
    const [data, control, metrics] = [await freePort(), await freePort(), await freePort()];
    const r = launchPodSlot({ dir, token, deployment, config: cfg, slot: 0, dataPorts: [data], control, metrics, env });
    return {
      ...r,
      records: () =>
        r
          .stdout()
          .split('\n')
          .filter((l) => l.includes('"id"')).length,
    };
  }

  /** The newest completed checkpoint in the bucket, read by the S3 client of the cluster (not the runtime's). */
  async function newestInBucket(): Promise<string> {
    const s3 = s3Client(s3Keys(paths));
    try {
      const prefix = `${stateDir.slice(`s3://${bucket}/`.length)}/checkpoints/`;
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      const ids = (listed.Contents ?? [])
        .map((o) => /\/chk-(\d+)\/_metadata\.json$/.exec(o.Key ?? '')?.[1])
        .filter((x): x is string => x !== undefined)
        .map(Number);
      expect(ids.length, 'completed checkpoints in the bucket').toBeGreaterThan(0);
      return `${stateDir}/checkpoints/chk-${Math.max(...ids)}`;
    } finally {
      s3.destroy();
    }
  }

  /** The first deployment, shared by both tests: runs to the end of its input, its final checkpoint in the bucket. */
  let firstRun: Promise<string> | undefined;
  const firstDeployment = (): Promise<string> =>
    (firstRun ??= (async () => {
      const first = await slot('d1', config('d1'));
      expect(await exitWithin(first, 60_000), stderrOf(first)).toBe(0);
      expect(first.records()).toBe(N);
      return newestInBucket();
    })());

  it('ends at the checkpoint timeout naming the storage; thawed within the bound, restores the newest checkpoint', async () => {
    const newest = await firstDeployment();
    const restart = { since: new Date(0).toISOString(), lineage: ['d1'] };

    // Frozen for the whole lookup: the slot ends by itself at the bound, exit 1, never starts empty.
    let frozenRun: (Run & { records: () => number }) | undefined;
    try {
      frozen = true;
      signalVersitygw(paths, 'SIGSTOP');
      const t0 = Date.now();
      frozenRun = await slot('d2', config('d2', restart));
      // Old code: still waiting here (the SDK's 120 s request timeout, then its retries).
      const code = await exitWithin(frozenRun, TIMEOUT_MS + 10_000);
      expect(code, `the slot ends by itself\n${stderrOf(frozenRun)}`).toBe(1);
      const ended = (await frozenRun.exited).at;
      thaw();
      const last = frozenRun.lines.find((l) => l.text.startsWith('error TRIB_'));
      expect(last?.text, stderrOf(frozenRun)).toBe(
        `error TRIB_STATE_STORAGE: cannot find the latest checkpoint in ${stateDir}: the state storage ${endpoint} ` +
          `bucket "${bucket}" did not answer within ${TIMEOUT_MS} ms (checkpointing timeout)`,
      );
      const [warned] = logged(frozenRun, /^restoreLatest: the state storage .* has not answered for/);
      expect(warned?.json, stderrOf(frozenRun)).toMatchObject({ level: 40, storage: `${endpoint} bucket "${bucket}"` });
      expect(warned?.json?.msg).toMatch(new RegExp(`fails after ${TIMEOUT_MS} ms \\(checkpointing timeout\\)`));
      expect(logged(frozenRun, /^(restoring|starting with empty state)$/), 'never started').toEqual([]);
      expect(frozenRun.records()).toBe(0);
      report(
        "hung at a slot pod's restore lookup",
        `slot exit 1 ${ended - t0} ms after its start (bound ${TIMEOUT_MS} ms): ${last!.text}`,
      );
    } finally {
      frozenRun?.kill();
      thaw();
    }

    // Frozen, then thawed within the bound: the lookup answers and the slot restores the newest checkpoint.
    let thawedRun: (Run & { records: () => number }) | undefined;
    try {
      frozen = true;
      signalVersitygw(paths, 'SIGSTOP');
      thawedRun = await slot('d3', config('d3', restart));
      const warned = await lineAfter(thawedRun, /^restoreLatest: the state storage .* has not answered for/, 0, 20_000);
      const t1 = Date.now();
      thaw();
      const restoring = await lineAfter(thawedRun, /^(restoring|starting with empty state)$/, 0, TIMEOUT_MS + 5000);
      expect(restoring.json).toMatchObject({ msg: 'restoring', source: 'latest', restoreFrom: newest });
      expect(
        logged(thawedRun, new RegExp(`^restoreLatest: the state storage ${esc(endpoint)} .* answered after`)),
      ).toHaveLength(1);
      expect(await exitWithin(thawedRun, 60_000), stderrOf(thawedRun)).toBe(0);
      // Restored at the end of the input: nothing emitted again.
      expect(thawedRun.records()).toBe(0);
      report(
        "hung at a slot pod's restore lookup, thawed within the bound",
        `warning ${lookupWarnAfterMs(TIMEOUT_MS)} ms into the lookup; restoring ${restoring.at - t1} ms after SIGCONT (${warned.json?.msg})`,
      );
    } finally {
      thawedRun?.kill();
      thaw();
    }
  }, 120_000);

  it('a restore read that receives nothing for the request timeout ends the slot naming the object; a shorter freeze is ridden out', async () => {
    const newest = await firstDeployment();
    const metadata = `${newest}/_metadata.json`;
    const env = { TRIBUTARY_S3_REQUEST_TIMEOUT_MS: String(STALL_MS) };
    const fromPath = (deployment: string): JobConfig => ({ ...config(deployment), restoreFrom: newest });
    const stalledLine = /^the state storage .* has sent nothing for /;

    // Frozen for the whole restore: the first read stalls; the slot ends by itself at the bound, exit 1.
    let frozenRun: (Run & { records: () => number }) | undefined;
    try {
      frozen = true;
      signalVersitygw(paths, 'SIGSTOP');
      const t0 = Date.now();
      frozenRun = await slot('d4', fromPath('d4'), env);
      // Old code: still waiting here (the SDK's socket timeouts and retries, or nothing at all).
      const code = await exitWithin(frozenRun, STALL_MS + 10_000);
      expect(code, `the slot ends by itself\n${stderrOf(frozenRun)}`).toBe(1);
      const ended = (await frozenRun.exited).at;
      thaw();
      const last = frozenRun.lines.find((l) => l.text.startsWith('error TRIB_'));
      expect(last?.text, stderrOf(frozenRun)).toMatch(
        new RegExp(
          `^error TRIB_STATE_STORAGE: cannot read ${esc(metadata)}: the state storage ${esc(endpoint)} bucket "${esc(bucket)}" ` +
            `sent nothing for \\d+ ms \\(bound ${STALL_MS} ms: TRIBUTARY_S3_REQUEST_TIMEOUT_MS, stateStorage\\.s3\\.requestTimeout\\)$`,
        ),
      );
      const [warned] = logged(frozenRun, stalledLine);
      expect(warned?.json, stderrOf(frozenRun)).toMatchObject({
        level: 40,
        storage: `${endpoint} bucket "${bucket}"`,
        location: metadata,
        boundMs: STALL_MS,
      });
      expect(frozenRun.records()).toBe(0);
      report(
        'hung while a slot reads its restore',
        `slot exit 1 ${ended - t0} ms after its start (stall bound ${STALL_MS} ms, warning at ${warned!.at - t0} ms): ${last!.text}`,
      );
    } finally {
      frozenRun?.kill();
      thaw();
    }

    // Frozen for less than the bound: the read waits, warns, resumes; the restore completes.
    let thawedRun: (Run & { records: () => number }) | undefined;
    try {
      frozen = true;
      signalVersitygw(paths, 'SIGSTOP');
      thawedRun = await slot('d5', fromPath('d5'), env);
      await lineAfter(thawedRun, stalledLine, 0, 20_000);
      const t1 = Date.now();
      thaw();
      const resumed = await lineAfter(thawedRun, /^the state storage .* is sending .* again after/, 0, STALL_MS + 5000);
      expect(resumed.json).toMatchObject({ storage: `${endpoint} bucket "${bucket}"`, location: metadata });
      expect(await exitWithin(thawedRun, 60_000), stderrOf(thawedRun)).toBe(0);
      // Restored at the end of the input: nothing emitted again, no read failed.
      expect(thawedRun.records()).toBe(0);
      expect(thawedRun.lines.filter((l) => l.text.startsWith('error TRIB_'))).toEqual([]);
      report(
        'hung while a slot reads its restore, thawed within the bound',
        `the read resumed ${resumed.at - t1} ms after SIGCONT; the slot restored ${newest} and ran to its end`,
      );
    } finally {
      thawedRun?.kill();
      thaw();
    }
  }, 120_000);
});
