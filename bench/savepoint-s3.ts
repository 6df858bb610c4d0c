// Savepoint and restore of BENCH_S3_KEYS keys (default 1,000,000; window state + timer each)
// with state on S3 (the local cluster's versitygw) next to the same on the local filesystem,
// in the same run: times and the ratio S3 / filesystem. Needs TRIBUTARY_S3_* (`npm run
// cluster -- up --with s3` and its `env`); prints a skip line otherwise.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stateStoreFor } from '../runtime/src/checkpoint/storage/state-store-for.ts';
import { validateGraph } from '../runtime/src/connectors/validate-graph.ts';
import { createJobExecutor } from '../runtime/src/exec/job-executor.ts';
import { oneKeyPerRecordGraph } from '../runtime/src/testing/graphs.ts';
import { CountingSink, takeSavepoint } from './checkpoint.ts';

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

interface Measured {
  where: string;
  keys: number;
  bytes: number;
  savepointMs: number;
  restoreMs: number;
}

async function measure(where: string, stateDir: string, keys: number): Promise<Measured> {
  const g = validateGraph(oneKeyPerRecordGraph(3));
  const { sp, keysInState } = await takeSavepoint(g, stateDir, keys);
  const t0 = performance.now();
  await createJobExecutor(g, { parallelism: 1, sinkWriter: () => new CountingSink(), restoreFrom: sp.path });
  return {
    where,
    keys: keysInState,
    bytes: sp.stateSize,
    savepointMs: sp.durationMs,
    restoreMs: performance.now() - t0,
  };
}

export async function savepointOnS3(): Promise<void> {
  const bucket = process.env['TRIBUTARY_S3_BUCKET'];
  if (!process.env['TRIBUTARY_S3_ENDPOINT'] || !bucket) {
    process.stdout.write('\nsavepoint on S3: skipped (no TRIBUTARY_S3_ENDPOINT; npm run cluster -- up --with s3)\n');
    return;
  }
  const keys = Number(process.env['BENCH_S3_KEYS'] ?? 1_000_000);
  const local = await mkdtemp(join(tmpdir(), 'trib-bench-s3peer-'));
  const s3 = `s3://${bucket}/bench-${randomUUID().slice(0, 8)}`;
  try {
    const fs = await measure('local filesystem', local, keys);
    const remote = await measure(`S3 (${process.env['TRIBUTARY_S3_ENDPOINT']})`, s3, keys);
    process.stdout.write(
      `\nsavepoint + restore of ${fmt.format(remote.keys)} keys (${fmt.format(remote.bytes / 1e6)} MB), parallelism 1, S3 next to the local filesystem\n`,
    );
    for (const m of [fs, remote])
      process.stdout.write(
        `  ${m.where.padEnd(36)} savepoint ${fmt.format(m.savepointMs).padStart(7)} ms   restore ${fmt.format(m.restoreMs).padStart(7)} ms\n`,
      );
    process.stdout.write(
      `  ratio S3 / filesystem: savepoint ${(remote.savepointMs / fs.savepointMs).toFixed(2)}, restore ${(remote.restoreMs / fs.restoreMs).toFixed(2)}  (targets < 5,000 ms each on S3: ${remote.savepointMs < 5000 && remote.restoreMs < 5000 ? 'met' : 'NOT met'})\n`,
    );
  } finally {
    await rm(local, { recursive: true, force: true });
    await stateStoreFor(s3).removeTree(s3);
  }
}
