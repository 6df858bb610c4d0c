// Operator bench: the StreamJob controller managing N suspended StreamJobs (the probe
// operator/src/controllers/streamjob/testing/bench-jobs.ts, run as its own process so its RSS
// and CPU are the operator's alone), next to a peer measured in the same run: the same
// process shape (client + Manager, no controller) idle, i.e. what the machinery costs with
// no jobs. Skipped with a message when KUBECONFIG is unset (needs the local cluster).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../test/cluster/paths.ts';

export interface OperatorBench {
  jobs: number;
  convergeMs: number;
  rssMB: number;
  heapUsedMB: number;
  idleSeconds: number;
  idleCpuPercent: number;
  reconcilesWhileIdle: number;
  relistsTotal: number;
}

function runProbe(jobs: number, idleSeconds: number): Promise<OperatorBench> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'operator/src/controllers/streamjob/testing/bench-jobs.ts'), String(jobs), String(idleSeconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.split('\n').filter((l) => l.startsWith('{')).at(-1);
      if (code !== 0 || !line) return reject(new Error(`bench-jobs exited ${code}: ${out.slice(-500)}`));
      resolve(JSON.parse(line) as OperatorBench);
    });
  });
}

export async function operatorBenchmarks(): Promise<void> {
  const jobs = Number(process.env['BENCH_STREAMJOBS'] ?? 500);
  const idle = Number(process.env['BENCH_IDLE_SECONDS'] ?? 30);
  process.stdout.write(`\noperator: StreamJob controller managing ${jobs} suspended StreamJobs, then ${idle}s idle\n`);
  if (!process.env['KUBECONFIG']) {
    process.stdout.write('  skipped: KUBECONFIG is unset (start the local cluster: eval "$(npm run -s cluster -- env)")\n');
    return;
  }
  const peer = await runProbe(0, idle);
  const r = await runProbe(jobs, idle);
  const row = (name: string, m: OperatorBench) => `  ${name.padEnd(28)} RSS ${String(m.rssMB).padStart(4)} MB (heap ${m.heapUsedMB} MB), idle CPU ${m.idleCpuPercent.toFixed(2)}%, reconciles while idle ${m.reconcilesWhileIdle}, relists ${m.relistsTotal}, converged in ${(m.convergeMs / 1000).toFixed(1)}s`;
  process.stdout.write(`${row(`${jobs} StreamJobs`, r)}\n${row('peer: 0 StreamJobs', peer)}\n`);
  process.stdout.write(`  targets: RSS < 150 MB ${r.rssMB < 150 ? 'met' : 'NOT met'}; idle CPU near zero (< 1%) ${r.idleCpuPercent < 1 ? 'met' : 'NOT met'}; no periodic lists ${r.relistsTotal === 0 ? 'met' : `NOT met (${r.relistsTotal})`}\n`);
}
