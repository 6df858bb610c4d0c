// ThreadSlot with real worker_threads: what the supervisor relies on. A worker that throws
// (here a one-line entry; a slot thread's uncaught exception ends it the same way) reports exit
// code 1 and does not take the supervising thread down; SIGTERM is the stop message; SIGKILL
// terminates the thread and reads as killed.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { THREAD_STOP_MESSAGE, ThreadSlot } from './thread-slot.ts';

const js = (code: string): URL => new URL(`data:text/javascript,${encodeURIComponent(code)}`);

function start(entry: URL): { slot: ThreadSlot; exited: Promise<[number | null, string | null]>; logs: string[] } {
  const logs: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(s) });
  let done!: (v: [number | null, string | null]) => void;
  const exited = new Promise<[number | null, string | null]>((r) => (done = r));
  const slot = new ThreadSlot(entry, {}, { pipe: true, logger, slot: 1, onExit: (c, s) => done([c, s]) });
  slot.stdout?.resume();
  slot.stderr?.resume();
  return { slot, exited, logs };
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
});
