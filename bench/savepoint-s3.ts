// Savepoint and restore of BENCH_S3_KEYS keys (default 1,000,000; window state + timer each)
// with state on S3 next to the same on the local filesystem, in the same run: times and the
// ratio S3 / filesystem. Also what one slot of a job restored at parallelism 2 reads (its half
// of the key groups: ranged reads) next to a whole-state load. The S3 server: the local
// cluster's (TRIBUTARY_S3_*), or one of the benchmark's own (s3-server.ts).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stateStoreFor } from '../runtime/src/checkpoint/storage/state-store-for.ts';
import { validateGraph } from '../runtime/src/connectors/validate-graph.ts';
import { createJobExecutor } from '../runtime/src/job/job-executor.ts';
import { loadRestore } from '../runtime/src/checkpoint/restore-plan.ts';
import { oneKeyPerRecordGraph } from '../runtime/src/testing/graphs.ts';
import { CountingSink, takeSavepoint } from './checkpoint.ts';
import { benchS3 } from './s3-server.ts';

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

interface Measured {
  where: string;
  keys: number;
  bytes: number;
  savepointMs: number;
  restoreMs: number;
  /** Loading (read + verify, no decoding) the whole state vs one slot of 2's half: ms and bytes read. */
  wholeLoad: { ms: number; bytes: number };
  halfLoad: { ms: number; bytes: number };
}

async function measure(where: string, stateDir: string, keys: number): Promise<Measured> {
  const g = validateGraph(oneKeyPerRecordGraph(3));
  const { sp, keysInState } = await takeSavepoint(g, stateDir, keys);
  const t0 = performance.now();
  await createJobExecutor(g, { parallelism: 1, sinkWriter: () => new CountingSink(), restoreFrom: sp.path });
  const restoreMs = performance.now() - t0;
  const load = async (parallelism: number, slots: number[]): Promise<{ ms: number; bytes: number }> => {
    const t = performance.now();
    const r = await loadRestore(sp.path, {
      graph: g,
      parallelism,
      maxParallelism: 128,
      allowNonRestoredState: false,
      slots,
    });
    return { ms: performance.now() - t, bytes: r.fetched.bytesRead };
  };
  return {
    where,
    keys: keysInState,
    bytes: sp.stateSize,
    savepointMs: sp.durationMs,
    restoreMs,
    wholeLoad: await load(1, [0]),
    halfLoad: await load(2, [0]),
  };
}

export async function savepointOnS3(): Promise<void> {
  const server = await benchS3();
  if (typeof server === 'string') {
    process.stdout.write(`\nsavepoint on S3: skipped (${server})\n`);
    return;
  }
  const keys = Number(process.env['BENCH_S3_KEYS'] ?? 1_000_000);
  const local = await mkdtemp(join(tmpdir(), 'trib-bench-s3peer-'));
  const s3 = `s3://${server.bucket}/bench-${randomUUID().slice(0, 8)}`;
  try {
    const fs = await measure('local filesystem', local, keys);
    const remote = await measure(`S3 (${server.endpoint})`, s3, keys);
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
    process.stdout.write(`  state files read + verified, no decoding: all key groups vs slot 0 of 2 (ranged)\n`);
    for (const m of [fs, remote])
      process.stdout.write(
        `  ${m.where.padEnd(36)} whole ${fmt.format(m.wholeLoad.ms).padStart(6)} ms, ${(m.wholeLoad.bytes / 1e6).toFixed(1)} MB   half ${fmt.format(m.halfLoad.ms).padStart(6)} ms, ${(m.halfLoad.bytes / 1e6).toFixed(1)} MB   (ratio half / whole ${(m.halfLoad.ms / m.wholeLoad.ms).toFixed(2)})\n`,
      );
  } finally {
    await rm(local, { recursive: true, force: true });
    await stateStoreFor(s3).removeTree(s3);
    await server.stop();
  }
}
