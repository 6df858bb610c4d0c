// ThreadSlot with real worker_threads: what the supervisor relies on. A worker that throws
// (here a one-line entry; a slot thread's uncaught exception ends it the same way) reports exit
// code 1 and does not take the supervising thread down; SIGTERM is the stop message; SIGKILL
// terminates the thread and reads as killed. Its young generation has the slot processes' cap.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { SLOT_NODE_FLAGS } from './slot-node-flags.ts';
import { THREAD_STOP_MESSAGE, ThreadSlot } from './thread-slot.ts';

const js = (code: string): URL => new URL(`data:text/javascript,${encodeURIComponent(code)}`);

function start(entry: URL): {
  slot: ThreadSlot;
  exited: Promise<[number | null, string | null]>;
  logs: string[];
  out: string[];
} {
  const logs: string[] = [];
  const out: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(s) });
  let done!: (v: [number | null, string | null]) => void;
  const exited = new Promise<[number | null, string | null]>((r) => (done = r));
  const slot = new ThreadSlot(entry, {}, { pipe: true, logger, slot: 1, onExit: (c, s) => done([c, s]) });
  slot.stdout?.on('data', (d: Buffer) => void out.push(d.toString()));
  slot.stderr?.resume();
  return { slot, exited, logs, out };
}

const waitForStop = `
  import { parentPort } from 'node:worker_threads';
  parentPort.on('message', (m) => { if (m === ${JSON.stringify(THREAD_STOP_MESSAGE)}) process.exit(0); });
`;

describe('ThreadSlot', () => {
  it('a thread that throws exits with code 1, logged as the slot thread failing', async () => {
    const t = start(js(`setTimeout(() => { throw new Error('boom in slot'); }, 1);`));
    expect(await t.exited).toEqual([1, null]);
    expect(t.slot.exitCode).toBe(1);
    expect(t.logs.join('')).toContain('boom in slot');
    expect(t.logs.join('')).toContain('slot thread failed');
  });

  it('SIGTERM sends the stop message: the slot ends itself with its own code', async () => {
    const t = start(js(waitForStop));
    expect(t.slot.kill('SIGTERM')).toBe(true);
    expect(await t.exited).toEqual([0, null]);
    expect(t.slot.kill('SIGTERM')).toBe(false);
  });

  it('SIGKILL terminates the thread: signalCode SIGKILL, no exit code', async () => {
    const t = start(js(waitForStop));
    expect(t.slot.kill('SIGKILL')).toBe(true);
    expect(await t.exited).toEqual([null, 'SIGKILL']);
    expect(t.slot.signalCode).toBe('SIGKILL');
  });

  it("a slot thread's young generation is capped as a slot process's (--max-semi-space-size)", async () => {
    // Churn enough short-lived objects for V8 to grow the young generation to its cap.
    const t = start(
      js(`
        import v8 from 'node:v8';
        let keep = [];
        for (let i = 0; i < 2e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 1000) keep = []; }
        const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
        process.stdout.write(String(ns.space_size));
      `),
    );
    expect(await t.exited).toEqual([0, null]);
    const semiSpaceMiB = Number(/--max-semi-space-size=(\d+)/.exec(SLOT_NODE_FLAGS.join(' '))?.[1]);
    // new_space is the two semi-spaces; V8's own default on this machine is 2 × 16 MiB.
    expect(Number(t.out.join('')) / 2 ** 20).toBeLessThanOrEqual(2 * semiSpaceMiB);
  });
});
