// What this machine gives two processes at once, without the engine: each workload of
// scaling-loop.ts (compute: arithmetic only; allocate: keyed objects made and dropped, as a
// window's state is) run alone, then twice side by side. Each run does the same fixed work, so
// side by side ÷ alone in throughput is 2 × (alone's time ÷ side by side's slower time): 2.00 when
// two cores are two cores for that work. Compute shows whether the cores are real; allocate
// whether memory and the GC let two busy heaps scale — the ceiling a windowed job's -p 2 meets
// before any cost of its own. Best of BENCH_THREADS_ROUNDS rounds; part of BENCH_ONLY=threads.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { TributaryError } from '../runtime/src/errors.ts';

const root = join(import.meta.dirname, '..');
const node = join(root, 'node_modules/.bin/node');

/** Millions of iterations per workload: about 3 s alone on the development machine. */
const WORK = { compute: 800, allocate: 8 } as const;
type Kind = keyof typeof WORK;

export interface ScalingFigure {
  kind: Kind;
  aloneMs: number;
  sideBySideMs: number;
  /** Throughput of two side-by-side runs ÷ one run alone (2.00: perfect). */
  scaling: number;
}

function loop(kind: Kind): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(node, ['bench/scaling-loop.ts', kind, String(WORK[kind])], { cwd: root });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => {
      const line = /^\{.*\}$/m.exec(out)?.[0];
      if (code !== 0 || !line)
        return reject(
          new TributaryError('TRIB_JOB_FAILED', `scaling-loop ${kind} exited ${String(code)}: ${err.slice(-800)}`),
        );
      resolve((JSON.parse(line) as { ms: number }).ms);
    });
  });
}

export async function machineScaling(rounds: number): Promise<ScalingFigure[]> {
  const figures: ScalingFigure[] = [];
  for (const kind of Object.keys(WORK) as Kind[]) {
    let best: ScalingFigure | undefined;
    for (let r = 0; r < rounds; r++) {
      const aloneMs = await loop(kind);
      const sideBySideMs = Math.max(...(await Promise.all([loop(kind), loop(kind)])));
      const fig = { kind, aloneMs, sideBySideMs, scaling: (2 * aloneMs) / sideBySideMs };
      if (!best || fig.scaling > best.scaling) best = fig;
    }
    figures.push(best as ScalingFigure);
  }
  return figures;
}
