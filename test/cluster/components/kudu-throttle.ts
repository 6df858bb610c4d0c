// Kudu slowed for real (a fault-matrix "slow server"): a real server cannot be slowed by config
// for every call, so its process is stopped and continued on a duty cycle (kudu.ts signals it).
import type { ClusterPaths } from '../paths.ts';
import { signalKuduTserver } from './kudu.ts';

/**
 * Slows tablet servers `is` for real (a server starved of CPU or stalling on its disk): each is
 * SIGSTOPped for `stoppedMs` of every `periodMs` and runs for the rest, until `stop()`, which
 * leaves them running (SIGCONT) whatever happened — a test calls it in its `finally`; the process
 * exiting does too. `cycles` counts the stopped phases so far.
 */
export function throttleKuduTservers(
  paths: ClusterPaths,
  is: readonly number[],
  stoppedMs: number,
  periodMs: number,
): { stop(): void; readonly cycles: number } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let cycles = 0;
  const signal = (s: 'SIGSTOP' | 'SIGCONT'): void => {
    for (const i of is) signalKuduTserver(paths, i, s);
  };
  const resume = (): void => {
    if (stopped) return;
    stopped = true;
    if (timer) clearTimeout(timer);
    signal('SIGCONT');
    process.off('exit', resume);
  };
  const phase = (): void => {
    if (stopped) return;
    signal('SIGSTOP');
    cycles++;
    timer = setTimeout(() => {
      if (stopped) return;
      signal('SIGCONT');
      timer = setTimeout(phase, periodMs - stoppedMs);
    }, stoppedMs);
  };
  process.on('exit', resume);
  phase();
  return {
    stop: resume,
    get cycles() {
      return cycles;
    },
  };
}
