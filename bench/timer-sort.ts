// The timer queue's bucket sort (runtime/src/time/timer-sort.ts) against Array.prototype.sort
// with the same order as a comparator, on buckets shaped like a sliding-window job's: one
// timestamp, 128 key groups, keys like q5's (`[12345]`), five window starts. Both sort copies of
// the same buckets, alternating for 8 rounds in this one process; the median CPU of each is
// compared. `npm run bench -- timer-sort` (also part of the full run).
import { compareSameTime, sortSameTime } from '../runtime/src/time/timer-sort.ts';
import type { Timer } from '../runtime/src/time/timer.ts';

function bucket(n: number, seed: number): Timer[] {
  let x = seed;
  const r = (): number => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: n }, () => ({
    ts: 1,
    kg: Math.floor(r() * 128),
    key: `[${1000 + Math.floor(r() * 40_000)}]`,
    ns: 1_700_000_000_000 + Math.floor(r() * 5) * 2000,
    deleted: false,
  }));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

export function timerSortBenchmark(): void {
  console.log('\ntimer bucket sort: timer-sort.ts vs Array.prototype.sort(comparator), median CPU of 8 rounds');
  const ways: [string, (l: Timer[]) => void][] = [
    ['built-in', (l) => l.sort(compareSameTime)],
    ['timer-sort', (l) => sortSameTime(l)],
  ];
  for (const n of [100, 2000, 12_000, 17_000]) {
    const cpu: Record<string, number[]> = { 'built-in': [], 'timer-sort': [] };
    for (let round = 0; round < 8; round++) {
      const buckets = Array.from({ length: Math.max(40, 480_000 / n) }, (_, i) => bucket(n, round * 1000 + i + 1));
      for (const [name, sort] of ways) {
        const copies = buckets.map((b) => b.slice());
        const t0 = process.cpuUsage();
        for (const c of copies) sort(c);
        const t = process.cpuUsage(t0);
        (cpu[name] as number[]).push((t.user + t.system) / 1000);
      }
    }
    const a = median(cpu['built-in'] as number[]);
    const b = median(cpu['timer-sort'] as number[]);
    console.log(
      `  buckets of ${n.toLocaleString('en-US').padStart(6)}   built-in ${a.toFixed(1).padStart(6)} ms   timer-sort ${b.toFixed(1).padStart(6)} ms   ×${(b / a).toFixed(2)} the CPU`,
    );
  }
}
