// Summarises a V8 .cpuprofile (node --cpu-prof) by self time: the top functions (name and
// file:line) and the share per module (kafkajs, our runtime by directory, node internals, GC,
// idle), as percentages of the profile's non-idle samples.
// Usage: node bench/cpuprofile-summary.ts <file.cpuprofile> [top=15]
import { readFileSync } from 'node:fs';
import { TributaryError } from '../runtime/src/errors.ts';

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface Node {
  id: number;
  callFrame: Frame;
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

/** The module a frame belongs to: an npm package, a runtime/src directory, node internals or a V8 pseudo-frame. */
export function moduleOf(f: Frame): string {
  if (f.url === '') return `(${f.functionName.replace(/[()]/g, '')})`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.url);
  if (pkg) return pkg[1] as string;
  const ours = /runtime\/src\/(.+)\/[^/]+$/.exec(f.url);
  if (ours) return `runtime/${ours[1] as string}`;
  if (f.url.startsWith('node:')) return 'node internals';
  return f.url;
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new TributaryError('TRIB_CLI_USAGE', 'usage: cpuprofile-summary.ts <file.cpuprofile> [top]');
  const top = Number(topArg ?? 15);
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const fn = new Map<string, number>();
  const mod = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const f = (byId.get(id) as Node).callFrame;
    if (f.functionName === '(idle)') continue;
    busy += us;
    const short = f.url.replace(/^.*node_modules\//, '').replace(/^.*runtime\/src\//, 'runtime/');
    const key = `${f.functionName || '(anonymous)'}  ${short}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const m = moduleOf(f);
    mod.set(m, (mod.get(m) ?? 0) + us);
  }
  const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const sorted = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]);
  process.stdout.write(`busy ${(busy / 1e6).toFixed(2)} s of samples\n\ntop ${top} functions by self time:\n`);
  for (const [k, us] of sorted(fn).slice(0, top)) process.stdout.write(`${pct(us)}  ${k}\n`);
  process.stdout.write('\nby module:\n');
  for (const [k, us] of sorted(mod)) if (us / busy >= 0.005) process.stdout.write(`${pct(us)}  ${k}\n`);
}

main();
