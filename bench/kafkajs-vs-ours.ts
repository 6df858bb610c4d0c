// How the micro-benches of our kafkajs replacements measure: kafkajs's implementation and ours
// run the same work in this one process, alternating for `rounds` rounds so the machine's noise
// falls on both; each round's work is timed in CPU (process.cpuUsage), and the median rate of each
// is reported (units of work per CPU-second).
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

/** `work(impl)` does one round with `impl` and returns the units done; medians of units per CPU-second. */
export function kafkajsVsOurs<F>(
  impls: { kafkajs: F; ours: F },
  work: (impl: F) => number,
  rounds = 8,
): { kafkajs: number; ours: number } {
  const rate = { kafkajs: [] as number[], ours: [] as number[] };
  for (let round = 0; round < rounds; round++)
    for (const name of ['kafkajs', 'ours'] as const) {
      const t0 = process.cpuUsage();
      const units = work(impls[name]);
      const t = process.cpuUsage(t0);
      rate[name].push(units / ((t.user + t.system) / 1e6));
    }
  return { kafkajs: median(rate.kafkajs), ours: median(rate.ours) };
}
