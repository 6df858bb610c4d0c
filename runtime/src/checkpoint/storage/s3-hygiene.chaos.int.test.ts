// Storage hygiene of incremental checkpoints on a real S3 server (the local cluster's versitygw),
// under the distributed runtime (`tributary run --distributed`: one process per slot): a keyed
// window job checkpoints every 50 ms with retention 3 until its checkpoint ids pass 100, takes a
// savepoint (kept), and has every slot process SIGKILLed between a checkpoint's upload and its
// commit (the kill is repeated until the listing shows such a folder: files, no `_metadata.json`);
// each restart is a new deployment (its own deployment id; the local supervisor writes no fences,
// the operator's path does: deployment-fence.ts). The running job's retention must
// remove the abandoned folder once a newer checkpoint completes; after the stop, `tributary state
// gc` (the user's command for a stopped job) leaves a bucket whose listing, taken with the S3 SDK
// (not our store), holds exactly: the retained checkpoints' metadata and every file they
// reference, the savepoint's metadata and its files (all inside its own folder: self-contained),
// and the id mark. Every referenced file is read back and checked against its SHA-256.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { listKeys } from '../../../../test/harness/s3-state-storage.ts';
import { stateCommand } from '../../cli/state-gc-cli.ts';
import { validateGraph } from '../../connectors/validate-graph.ts';
import { CONTRACT_VERSION } from '../../control/contract.ts';
import { Supervisor, type AttemptInfo } from '../../process/supervisor.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { keyedWindowGraph } from '../../testing/keyed-window-graph.ts';
import { CheckpointStorage, sha256Hex } from '../checkpoint-storage.ts';
import { readMetadata } from '../metadata.ts';
import { referencedFiles } from '../referenced-files.ts';
import { stateStoreFor } from './state-store-for.ts';
import { baseName, childOf } from './state-uri.ts';

const bucket = process.env.TRIBUTARY_S3_BUCKET as string;
const run = `it-hygiene-${randomUUID().slice(0, 8)}`;
const stateDir = `s3://${bucket}/${run}`;
afterAll(async () => {
  await stateStoreFor(stateDir).removeTree(stateDir);
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const storage = new CheckpointStorage(stateDir);
const newestId = async (): Promise<number> => (await storage.latestCompletedCheckpoint())?.id ?? 0;

/** A checkpoint folder above the newest completed one with state files and no metadata: uploaded, not committed. */
async function uncommitted(): Promise<{ id: number; files: string[] } | undefined> {
  const folders = await storage.folders('checkpoint');
  const newest = Math.max(0, ...folders.filter((f) => f.complete).map((f) => f.id));
  for (const f of folders.filter((e) => !e.complete && e.id > newest)) {
    const files = (await stateStoreFor(f.path).list(f.path)).filter((n) => !n.startsWith('_metadata.json'));
    if (files.length > 0) return { id: f.id, files };
  }
  return undefined;
}

/** `<folder>/_metadata.json` and every file its metadata references, as keys under `<stateDir>/<kind>/`. */
async function needed(path: string): Promise<string[]> {
  const folder = baseName(path);
  return [`${folder}/_metadata.json`, ...referencedFiles(await readMetadata(path), folder)];
}

async function savepoint(a: AttemptInfo): Promise<string> {
  const slot0 = a.slots.find((s) => s.slot === 0);
  if (!slot0) throw new Error('no slot 0');
  const auth = { authorization: `Bearer ${slot0.controlToken}` };
  const res = await fetch(`http://${slot0.controlAddress}/v1/savepoints`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ stop: false }),
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  for (let i = 0; i < 300; i++) {
    const st = (await (
      await fetch(`http://${slot0.controlAddress}/v1/savepoints/${id}`, { headers: auth })
    ).json()) as {
      state: string;
      path?: string;
      error?: string;
    };
    if (st.state === 'COMPLETED' && st.path) return st.path;
    if (st.state === 'FAILED') throw new Error(`savepoint failed: ${st.error ?? ''}`);
    await sleep(100);
  }
  throw new Error('savepoint did not complete in 30 s');
}

describe('storage hygiene on S3 (versitygw), distributed runtime', () => {
  it('100+ checkpoints at retention 3, a savepoint, SIGKILLs between upload and commit, new deployments: the bucket holds exactly what is referenced', async () => {
    const graph = keyedWindowGraph({ rate: 20_000, count: 100_000_000, seed: 5, keys: 3_000, windowSize: '20s' });
    validateGraph(graph);
    const attempts: AttemptInfo[] = [];
    const sup = new Supervisor({
      config: {
        contractVersion: CONTRACT_VERSION,
        jobName: `hygiene-${run}`,
        graph,
        parallelism: 2,
        maxParallelism: 128,
        checkpointing: { intervalMs: 50, timeoutMs: 30_000, retained: 3 },
        stateDir,
        allowNonRestoredState: false,
      },
      logger: silentLogger(),
      maxRestarts: 40,
      backoffMs: 100,
      maxBackoffMs: 500,
      stdio: 'pipe',
      env: { TRIBUTARY_LOG_LEVEL: 'warn' },
      onAttempt: (a) => {
        attempts.push(a);
        for (const s of a.slots) {
          s.child.stdout?.resume();
          s.child.stderr?.resume();
        }
      },
    });
    const done = sup.run();
    done.catch(() => undefined);
    const reach = async (id: number, timeout = 120_000): Promise<void> => {
      await expect.poll(newestId, { timeout, interval: 50 }).toBeGreaterThanOrEqual(id);
    };
    try {
      await reach(10);
      const spPath = await savepoint(attempts[attempts.length - 1] as AttemptInfo);

      // SIGKILL every slot process the moment a checkpoint's files are up and its metadata is not;
      // again on the next attempt until a kill lands in that window (the listing proves it).
      let abandoned: { id: number; files: string[] } | undefined;
      for (let tries = 0; tries < 30 && !abandoned; tries++) {
        const a = attempts[attempts.length - 1] as AttemptInfo;
        await reach((await newestId()) + 2); // this attempt checkpoints steadily
        let seen: { id: number; files: string[] } | undefined;
        for (let i = 0; i < 400 && !seen; i++) seen = await uncommitted();
        for (const s of a.slots) s.child.kill('SIGKILL');
        await expect.poll(() => attempts.length, { timeout: 30_000 }).toBeGreaterThan(attempts.indexOf(a) + 1);
        if (seen && !(await storage.folders('checkpoint')).find((f) => f.id === seen.id)?.complete) abandoned = seen;
      }
      expect(abandoned, 'no kill landed between upload and commit in 30 tries').toBeDefined();
      const gone = abandoned as { id: number; files: string[] };

      // The running job's retention removes the abandoned folder once a newer checkpoint completed.
      await reach(Math.max(100, gone.id + 10));
      await expect
        .poll(async () => (await storage.folders('checkpoint')).some((f) => f.id === gone.id), { timeout: 60_000 })
        .toBe(false);
      sup.stop();
      expect((await done).state).toBe('STOPPED');

      // The user's command on the stopped job; then the bucket, listed by the S3 SDK.
      const printed: string[] = [];
      const out = new Writable({ write: (c: Buffer, _e, cb) => (printed.push(c.toString()), cb()) });
      expect(await stateCommand(['gc', stateDir, '--retained', '3'], out)).toBe(0);
      const listing = (await listKeys(run)).map((k) => k.slice(run.length + 1)).sort();
      const kept = await storage.completedCheckpoints();
      expect(kept.length).toBe(3);
      expect(kept[2]?.id).toBeGreaterThanOrEqual(100);
      const checkpointKeys = new Set<string>();
      for (const c of kept) for (const k of await needed(c.path)) checkpointKeys.add(`checkpoints/${k}`);
      const spFolder = baseName(spPath);
      const spKeys = (await needed(spPath)).map((k) => `savepoints/${k}`);
      for (const k of spKeys)
        expect(k.startsWith(`savepoints/${spFolder}/`), `${k}: a savepoint is self-contained`).toBe(true);
      expect(new Set(attempts.map((a) => a.deploymentId)).size).toBeGreaterThanOrEqual(2);
      expect(listing, printed.join('')).toEqual([...checkpointKeys, ...spKeys, '_checkpoint-id'].sort());

      // Every referenced file is there and intact.
      for (const path of [...kept.map((c) => c.path), spPath]) {
        const meta = await readMetadata(path);
        for (const { keyed } of Object.values(meta.operators))
          for (const h of keyed)
            for (const f of [h, ...(h.deltas ?? [])]) {
              const at = f.from === undefined ? path : childOf(stateDir, 'checkpoints', f.from);
              const bytes = await stateStoreFor(stateDir).read(childOf(at, f.file));
              expect(bytes && sha256Hex(bytes), `${baseName(at)}/${f.file}`).toBe(f.sha256);
            }
      }
    } finally {
      sup.stop();
      await done.catch(() => undefined);
    }
  }, 300_000);
});
