// What timing each graph node costs (node-clock.ts: one clock read per node entered and left,
// per batch): the runtime-throughput job (datagen → filter → map → keyBy → tumbling count, p = 1)
// with node timing on, as it runs, against the same job with it off, in alternating rounds in
// one process. Records/s per core = records / process CPU seconds of the run.
import { runTributary, type Measurement } from './runtime-throughput.ts';

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export async function nodeTimingBenchmark(records: number, rounds: number): Promise<void> {
  process.stdout.write(
    `node timing: the runtime-throughput job at p=1, ${fmt.format(records)} records, ${rounds} rounds alternating\n`,
  );
  await runTributary(200_000);
  await runTributary(200_000, { nodeTiming: false });
  const on: Measurement[] = [];
  const off: Measurement[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first: a machine getting busier or quieter favours neither.
    if (r % 2 === 0) {
      on.push(await runTributary(records));
      off.push(await runTributary(records, { nodeTiming: false }));
    } else {
      off.push(await runTributary(records, { nodeTiming: false }));
      on.push(await runTributary(records));
    }
  }
  const ratios = on.map((m, i) => m.perCore / (off[i] as Measurement).perCore).sort((a, b) => a - b);
  const median = ratios[Math.floor(ratios.length / 2)] as number;
  const best = (ms: Measurement[]) => Math.max(...ms.map((m) => m.perCore));
  process.stdout.write(
    `  timed   best ${fmt.format(best(on)).padStart(10)} rec/s per core\n` +
      `  untimed best ${fmt.format(best(off)).padStart(10)} rec/s per core\n` +
      `  timed/untimed per round: ${ratios.map((r) => r.toFixed(3)).join(' ')}; median ${median.toFixed(3)}\n`,
  );
}
