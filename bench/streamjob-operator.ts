// Operator bench: the StreamJob controller managing N suspended StreamJobs (the probe
// operator/src/controllers/streamjob/testing/bench-jobs.ts, run as its own process so its RSS
// and CPU are the operator's alone): RSS, idle CPU, the time from an edit to its reconcile
// (p50/p99, next to its peer: the edit's watch event reaching the operator, measured in the
// same run) and LIST calls after start-up (counted by the operator's client and by the
// apiserver). Next to a peer measured in the same run: the same process with 0 jobs, i.e. what
// the machinery costs with no jobs. Edits are paced at BENCH_EDITS_PER_SECOND (default 25).
// Both run with the NODE_OPTIONS the Helm chart gives the operator (values.yaml `nodeOptions`;
// BENCH_OPERATOR_NODE_OPTIONS overrides), i.e. as deployed. Skipped with a
// message when KUBECONFIG is unset (needs the local cluster).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../test/cluster/paths.ts';

export interface OperatorBench {
  jobs: number;
  convergeMs: number;
  rssMiB: number;
  heapUsedMiB: number;
  idleSeconds: number;
  idleCpuPercent: number;
  reconcilesWhileIdle: number;
  editsPerSecond: number;
  reconcileMeanMs: number;
  queueWaitMeanMs: number;
  /** From sending an edit to the first status write of the reconcile that saw it. */
  editToReconcileMs: Percentiles;
  /** From sending an edit to its watch event in the operator's cache (the floor of the above). */
  editToWatchEventMs: Percentiles;
  /** LIST calls after the informers' initial lists, by the operator's client. */
  listsAfterStartup: number;
  /** The same, counted by the apiserver (apiserver_request_total{verb="LIST"}; every client's). */
  apiserverListsAfterStartup: number;
  listsWhileIdle: number;
  initialLists: number;
  apiCalls: Record<string, { n: number; meanMs: number }>;
}

interface Percentiles {
  p50: number;
  p99: number;
  max: number;
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

/** Reconcile workers as the chart deploys them (values.yaml `workers`; BENCH_OPERATOR_WORKERS overrides). */
function chartWorkers(): number {
  const env = process.env['BENCH_OPERATOR_WORKERS'];
  if (env !== undefined) return Number(env);
  const values = parse(readFileSync(join(repoRoot, 'charts/tributary/values.yaml'), 'utf8')) as { workers?: number };
  return values.workers ?? 4;
}

function runProbe(
  jobs: number,
  idleSeconds: number,
  nodeOptions: string,
  editRate: number,
  workers: number,
): Promise<OperatorBench> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, 'operator/src/controllers/streamjob/testing/bench-jobs.ts'),
        String(jobs),
        String(idleSeconds),
        String(editRate),
        String(workers),
      ],
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
    `\noperator: StreamJob controller managing ${jobs} suspended StreamJobs, then ${idle}s idle (NODE_OPTIONS ${JSON.stringify(nodeOptions)} and ${chartWorkers()} workers, as the chart deploys it)\n`,
  );
  if (!process.env['KUBECONFIG']) {
    process.stdout.write(
      '  skipped: KUBECONFIG is unset (start the local cluster: eval "$(npm run -s cluster -- env)")\n',
    );
    return;
  }
  const editRate = Number(process.env['BENCH_EDITS_PER_SECOND'] ?? 25);
  const workers = chartWorkers();
  const peer = await runProbe(0, idle, nodeOptions, editRate, workers);
  const r = await runProbe(jobs, idle, nodeOptions, editRate, workers);
  const row = (name: string, m: OperatorBench) =>
    `  ${name.padEnd(20)} RSS ${String(m.rssMiB).padStart(4)} MiB (heap ${m.heapUsedMiB} MiB), idle CPU ${m.idleCpuPercent.toFixed(2)}%, reconciles while idle ${m.reconcilesWhileIdle}, LISTs after start-up ${m.listsAfterStartup} (apiserver: ${m.apiserverListsAfterStartup}; ${m.initialLists} initial), converged in ${(m.convergeMs / 1000).toFixed(1)}s`;
  process.stdout.write(`${row(`${jobs} StreamJobs`, r)}\n${row('peer: 0 StreamJobs', peer)}\n`);
  const e = r.editToReconcileMs;
  const w = r.editToWatchEventMs;
  process.stdout.write(
    `  edit → first reconcile (status written), ${jobs} edits at ${r.editsPerSecond}/s: p50 ${e.p50} ms, p99 ${e.p99} ms, max ${e.max} ms; peer, edit → watch event in the operator's cache: p50 ${w.p50} ms, p99 ${w.p99} ms (reconcile mean ${r.reconcileMeanMs} ms, queue wait mean ${r.queueWaitMeanMs} ms)\n`,
  );
  process.stdout.write(
    `  apiserver calls by the operator: ${Object.entries(r.apiCalls)
      .map(([k, c]) => `${k} ×${c.n} (${c.meanMs} ms)`)
      .join(', ')}\n`,
  );
  process.stdout.write(
    `  ratios: RSS ${jobs} jobs / 0 jobs ${(r.rssMiB / peer.rssMiB).toFixed(2)}; edit→reconcile p99 / edit→watch event p99 ${(e.p99 / w.p99).toFixed(2)}\n`,
  );
  process.stdout.write(
    `  targets: RSS < 150 MiB ${r.rssMiB < 150 ? 'met' : 'NOT met'}; edit→reconcile p99 < 1 s ${e.p99 < 1000 ? 'met' : 'NOT met'}; idle CPU < 1% ${r.idleCpuPercent < 1 ? 'met' : 'NOT met'}; zero LISTs after start-up ${r.listsAfterStartup === 0 && r.apiserverListsAfterStartup === 0 ? 'met' : `NOT met (${r.listsAfterStartup} by the operator, ${r.apiserverListsAfterStartup} at the apiserver)`}\n`,
  );
}
