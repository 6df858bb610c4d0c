// The Kafka bench's outside measurement of a contender (bench/kafka-measure.ts): the CPU of the
// whole process tree (a distributed run's slots are grandchildren) and each process's RSS peak.
import { describe, expect, it } from 'vitest';
import { measureChild, type ProcessPeak } from '../../bench/kafka-measure.ts';

const MiB = 1024;
// A child that starts a grandchild; the grandchild touches 96 MiB, burns CPU on a fixed amount of
// work, prints its own CPU time and then waits for SIGUSR2 (sent once a sample has seen it; the
// handler comes first, so an early signal is handled once the synchronous work is done). Both
// exit when their stdin closes, so a failed test leaves no process behind.
const grandchild = `
process.on('SIGUSR2', () => process.exit(0));
const b = Buffer.alloc(96 * 1024 * 1024, 1);
let x = 0; for (let i = 0; i < 3e7; i++) x = (x + i * b[i % b.length]) % 1000003;
const c = process.cpuUsage();
process.stdout.write(JSON.stringify({ pid: process.pid, cpuMs: (c.user + c.system) / 1000, x }) + '\\n');
process.stdin.on('end', () => process.exit(2)).resume();
`;
const child = `
const { spawn } = require('node:child_process');
const g = spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: ['pipe', 'inherit', 'inherit'] });
g.on('exit', (code) => process.exit(code ?? 1));
process.stdin.on('end', () => g.stdin.end()).resume();
`;

describe('measureChild', () => {
  it('counts the CPU of descendants and reports the RSS peak of each process', async () => {
    let signalled = false;
    // Only the grandchild touches 96 MiB: it is released once a sample has seen it.
    const onSample = (peaks: readonly ProcessPeak[]): void => {
      const big = peaks.find((p) => p.hwmKiB >= 96 * MiB);
      if (big && !signalled) {
        signalled = true;
        process.kill(big.pid, 'SIGUSR2');
      }
    };
    const run = await measureChild(process.execPath, ['-e', child], { onSample });
    const reported = JSON.parse(run.stdout.trim()) as { pid: number; cpuMs: number };
    expect(run.cpuMs).toBeGreaterThanOrEqual(reported.cpuMs);
    expect(run.peaks.find((p) => p.pid === reported.pid)?.hwmKiB).toBeGreaterThanOrEqual(96 * MiB);
    expect(run.peaks).toHaveLength(2);
    expect(run.peaks.every((p) => p.name === 'node')).toBe(true);
  });
});
