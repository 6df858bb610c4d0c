// Operator bench: the StreamJob controller managing N suspended StreamJobs (the probe
// operator/src/controllers/streamjob/testing/bench-jobs.ts, run as its own process so its RSS
// and CPU are the operator's alone), next to a peer measured in the same run: the same
// process shape (client + Manager, no controller) idle, i.e. what the machinery costs with
// no jobs. Both run with the NODE_OPTIONS the Helm chart gives the operator (values.yaml
// `nodeOptions`; BENCH_OPERATOR_NODE_OPTIONS overrides), i.e. as deployed. Skipped with a
// message when KUBECONFIG is unset (needs the local cluster).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../test/cluster/paths.ts';

export interface OperatorBench {
  jobs: number;
  convergeMs: number;
  rssMB: number;
  heapUsedMB: number;
  idleSeconds: number;
  idleCpuPercent: number;
  reconcilesWhileIdle: number;
  /** Full lists since start: one initial list per informer plus relists. */
  relistsTotal: number;
  listsWhileIdle: number;
}

/** The operator's NODE_OPTIONS as the chart deploys it. */
function chartNodeOptions(): string {
  const env = process.env['BENCH_OPERATOR_NODE_OPTIONS'];
  if (env !== undefined) return env;
  const values = parse(readFileSync(join(repoRoot, 'charts/tributary/values.yaml'), 'utf8')) as {
    nodeOptions?: string;
  };
  return values.nodeOptions ?? '';
}

function runProbe(jobs: number, idleSeconds: number, nodeOptions: string): Promise<OperatorBench> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(repoRoot, 'operator/src/controllers/streamjob/testing/bench-jobs.ts'), String(jobs), String(idleSeconds)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, NODE_OPTIONS: [process.env['NODE_OPTIONS'], nodeOptions].filter(Boolean).join(' ') },
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .at(-1);
      if (code !== 0 || !line) return reject(new Error(`bench-jobs exited ${code}: ${out.slice(-500)}`));
      resolve(JSON.parse(line) as OperatorBench);
    });
  });
}

export async function operatorBenchmarks(): Promise<void> {
  const jobs = Number(process.env['BENCH_STREAMJOBS'] ?? 500);
  const idle = Number(process.env['BENCH_IDLE_SECONDS'] ?? 30);
  const nodeOptions = chartNodeOptions();
  process.stdout.write(
    `\noperator: StreamJob controller managing ${jobs} suspended StreamJobs, then ${idle}s idle (NODE_OPTIONS ${JSON.stringify(nodeOptions)}, as the chart deploys it)\n`,
  );
  if (!process.env['KUBECONFIG']) {
    process.stdout.write(
      '  skipped: KUBECONFIG is unset (start the local cluster: eval "$(npm run -s cluster -- env)")\n',
    );
    return;
  }
  const peer = await runProbe(0, idle, nodeOptions);
  const r = await runProbe(jobs, idle, nodeOptions);
  const row = (name: string, m: OperatorBench) =>
    `  ${name.padEnd(28)} RSS ${String(m.rssMB).padStart(4)} MB (heap ${m.heapUsedMB} MB), idle CPU ${m.idleCpuPercent.toFixed(2)}%, reconciles while idle ${m.reconcilesWhileIdle}, lists while idle ${m.listsWhileIdle} (${m.relistsTotal} since start), converged in ${(m.convergeMs / 1000).toFixed(1)}s`;
  process.stdout.write(`${row(`${jobs} StreamJobs`, r)}\n${row('peer: 0 StreamJobs', peer)}\n`);
  process.stdout.write(`  ratio RSS ${jobs} jobs / 0 jobs: ${(r.rssMB / peer.rssMB).toFixed(2)}\n`);
  process.stdout.write(
    `  targets: RSS < 150 MB ${r.rssMB < 150 ? 'met' : 'NOT met'}; idle CPU near zero (< 1%) ${r.idleCpuPercent < 1 ? 'met' : 'NOT met'}; no periodic lists ${r.listsWhileIdle === 0 ? 'met' : `NOT met (${r.listsWhileIdle} while idle)`}\n`,
  );
}
