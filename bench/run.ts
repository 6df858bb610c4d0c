// `npm run bench`: runtime benchmarks, each next to a peer measured in the same run.
// Env: BENCH_RECORDS (default 3,000,000), BENCH_ROUNDS (default 3; the best round counts).
import { runPlainLoop, runTributary, type Measurement } from './runtime-throughput.ts';

const records = Number(process.env['BENCH_RECORDS'] ?? 3_000_000);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function best(ms: Measurement[]): Measurement {
  return ms.reduce((a, b) => (b.perCore > a.perCore ? b : a));
}

async function main(): Promise<void> {
  process.stdout.write(`runtime throughput: datagen → filter → map → keyBy → tumbling count, parallelism 1, ${fmt.format(records)} records, best of ${rounds}\n`);
  // Warm up both paths (JIT) on a small run.
  await runTributary(200_000);
  runPlainLoop(200_000);
  const trib: Measurement[] = [];
  const peer: Measurement[] = [];
  for (let r = 0; r < rounds; r++) {
    trib.push(await runTributary(records));
    peer.push(runPlainLoop(records));
  }
  const t = best(trib);
  const p = best(peer);
  const rows = [t, p].map((m) => `  ${m.name.padEnd(28)} ${fmt.format(m.perCore).padStart(12)} rec/s per core   (${fmt.format(m.wallMs)} ms wall, ${fmt.format(m.cpuMs)} ms CPU, ${m.outputs} window results)`);
  process.stdout.write(`${rows.join('\n')}\n`);
  process.stdout.write(`  ratio tributary / ideal peer: ${(t.perCore / p.perCore).toFixed(2)}  (target ≥ 500,000 rec/s per core: ${t.perCore >= 500_000 ? 'met' : 'NOT met'})\n`);
  if (t.outputs !== p.outputs) process.stdout.write(`  WARNING: result counts differ (${t.outputs} vs ${p.outputs})\n`);
}

await main();
