// Checkpoint overhead with state on S3, next to the local filesystem and to checkpointing off,
// in the same run: the keyed-window pipeline of checkpoint.ts (10k keys, parallelism 1) for
// BENCH_CKPT_SECONDS (default 25) each, checkpoints every BENCH_CKPT_INTERVAL (default 10s),
// BENCH_CKPT_ROUNDS (default 2) alternating rounds, the best run of each (per core). The
// ratios are of records per CPU-second of this process, as in checkpoint.ts (the S3 server's
// own CPU is not in it), and, next to them, of records per second of wall time (what the job
// delivers; on a shared machine it also measures the neighbours). The S3 server: the
// local cluster's, or one of its own (s3-server.ts).
// Run alone: BENCH_ONLY=s3-checkpoint npm run bench
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration } from '../runtime/src/graph/duration.ts';
import { throughput, type Throughput } from './checkpoint.ts';
import { benchS3 } from './s3-server.ts';

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export async function checkpointOverheadOnS3(): Promise<void> {
  const seconds = Number(process.env['BENCH_CKPT_SECONDS'] ?? 25);
  const interval = parseDuration(process.env['BENCH_CKPT_INTERVAL'] ?? '10s') ?? 10_000;
  const rounds = Math.max(1, Number(process.env['BENCH_CKPT_ROUNDS'] ?? 2));
  process.stdout.write(
    `\ncheckpoint overhead on S3: keyed window pipeline (10k keys), parallelism 1, checkpoints every ${interval / 1000} s on S3 vs the local filesystem vs off, ${seconds} s per run, best of ${rounds} alternating runs each\n`,
  );
  const s3 = await benchS3();
  if (typeof s3 === 'string') {
    process.stdout.write(`  skipped: ${s3}\n`);
    return;
  }
  try {
    await throughput(3, undefined); // warm-up
    const kinds = ['off', 'filesystem', 'S3'] as const;
    const runs: Record<(typeof kinds)[number], Throughput[]> = { off: [], filesystem: [], S3: [] };
    for (let r = 0; r < rounds; r++) {
      for (const k of r % 2 === 0 ? kinds : [...kinds].reverse()) {
        const dir =
          k === 'S3'
            ? `s3://${s3.bucket}/bench-ckpt-${randomUUID().slice(0, 8)}`
            : k === 'filesystem'
              ? await mkdtemp(join(tmpdir(), 'trib-bench-ckpt-'))
              : undefined;
        runs[k].push(await throughput(seconds, k === 'off' ? undefined : interval, dir));
      }
    }
    const best = (ms: Throughput[]): Throughput => ms.reduce((a, b) => (b.perCore > a.perCore ? b : a));
    const m = { off: best(runs.off), filesystem: best(runs.filesystem), S3: best(runs.S3) };
    const perSec = (t: Throughput): number => t.records / (t.wallMs / 1000);
    for (const k of kinds)
      process.stdout.write(
        `  ${`checkpoints ${k === 'off' ? 'off' : `on ${k}`}`.padEnd(28)} ${fmt.format(perSec(m[k])).padStart(10)} rec/s   ${fmt.format(m[k].perCore).padStart(10)} rec/s per core${m[k].checkpoints ? `   (last checkpoint id ${m[k].checkpoints})` : ''}\n`,
      );
    const ratio = (a: Throughput, b: Throughput): string => (a.perCore / b.perCore).toFixed(3);
    const wall = (a: Throughput, b: Throughput): string => (perSec(a) / perSec(b)).toFixed(3);
    process.stdout.write(
      `  ratio per core: S3 / off ${ratio(m.S3, m.off)}, filesystem / off ${ratio(m.filesystem, m.off)}, S3 / filesystem ${ratio(m.S3, m.filesystem)}  (cost on S3 ${((1 - m.S3.perCore / m.off.perCore) * 100).toFixed(1)}%, target < 5%: ${m.S3.perCore / m.off.perCore > 0.95 ? 'met' : 'NOT met'})\n`,
    );
    process.stdout.write(
      `  ratio wall (neighbours on the machine show here): S3 / off ${wall(m.S3, m.off)}, filesystem / off ${wall(m.filesystem, m.off)}, S3 / filesystem ${wall(m.S3, m.filesystem)}\n`,
    );
  } finally {
    await s3.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await checkpointOverheadOnS3();
