// A fixed amount of plain JavaScript work, run as a child process by machine-scaling.ts:
//   compute  integer arithmetic in one loop: no allocation, so no GC and no memory traffic;
//   allocate keyed objects made and dropped in a Map (the shape of window state: a record's
//            window found or created by key, old ones removed), so the GC and memory are busy
//            as they are in a windowed job.
// Usage: node bench/scaling-loop.ts compute|allocate <millions of iterations>
// Prints one JSON line: {"kind", "ms"} (wall time of the loop, start-up excluded).
import { TributaryError } from '../runtime/src/errors.ts';

const [kind, millions] = process.argv.slice(2);
const n = Number(millions) * 1e6;
if ((kind !== 'compute' && kind !== 'allocate') || !(n > 0))
  throw new TributaryError('TRIB_CLI_USAGE', 'usage: node bench/scaling-loop.ts compute|allocate <millions>');

const t0 = process.hrtime.bigint();
let check = 0;
if (kind === 'compute') {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x + (i & 0xffff) * 7) % 1_000_003;
  check = x;
} else {
  const live = new Map<string, { start: number; accs: number[] }>();
  for (let i = 0; i < n; i++) {
    const key = `k${i % 200_000}`;
    const w = live.get(key);
    if (w) w.accs[0] = (w.accs[0] as number) + 1;
    else live.set(key, { start: i, accs: [1] });
    if (live.size > 150_000) live.clear();
  }
  check = live.size;
}
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
process.stdout.write(`${JSON.stringify({ kind, ms, check })}\n`);
