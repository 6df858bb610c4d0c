import { describe, expect, it } from 'vitest';
import { finishedMessage } from '../../../../runtime/src/control/finished.ts';
import type { JobCtx, ReconcilerInternals } from './job-context.ts';
import type { Pod } from './objects/slot-pod.ts';
import {
  BURST,
  DEDUPE_WINDOW_MS,
  PER_MINUTE,
  reportSlotExceptions,
  SlotExceptionFilter,
  slotExceptions,
  type SlotException,
} from './slot-exceptions.ts';

const ended = (name: string, terminated: Record<string, unknown>, phase: 'Failed' | 'Succeeded' = 'Failed'): Pod => ({
  metadata: { name },
  status: { phase, containerStatuses: [{ name: 'slot', ready: false, restartCount: 0, state: { terminated } }] },
});
const runningPod: Pod = { metadata: { name: 'j-d1-2' }, status: { phase: 'Running' } };

describe('slotExceptions: what the observation shows', () => {
  it('names each failed slot by number, without its pod name, in slot order; finished and running slots are none', () => {
    const current = new Map<number, Pod>([
      [
        3,
        ended(
          'j-d1-3',
          { exitCode: 0, message: finishedMessage({ slot: 3, deploymentId: 'd1', recordsIn: 10, recordsOut: 10 }) },
          'Succeeded',
        ),
      ],
      [1, ended('j-d1-1', { reason: 'OOMKilled', exitCode: 137 })],
      [2, runningPod],
      [
        4,
        ended('j-d1-4', { reason: 'Error', exitCode: 1, message: '  error TRIB_NET_CONNECTION_LOST:\n slot 0 lost ' }),
      ],
    ]);
    const runtime = { state: 'FAILED' as const, error: 'TRIB_RECORD_FAILED: step m failed on a record' };
    const slotRuntime = new Map([
      [2, { state: 'FAILED', failure: 'TRIB_SINK_FAILED: out' }],
      [5, { error: 'connect ECONNREFUSED' }], // no answer is not an exception
    ]);
    expect(slotExceptions({ current, runtime, slotRuntime })).toEqual([
      { slot: 0, message: 'slot 0 reports FAILED: TRIB_RECORD_FAILED: step m failed on a record' },
      { slot: 1, message: 'slot 1 ended: OOMKilled, exit 137' },
      { slot: 2, message: 'slot 2 reports FAILED: TRIB_SINK_FAILED: out' },
      { slot: 4, message: 'slot 4 ended: Error, exit 1: error TRIB_NET_CONNECTION_LOST: slot 0 lost' },
    ]);
    expect(slotExceptions({ current: new Map([[0, runningPod]]), runtime: { state: 'RUNNING' } })).toEqual([]);
  });

  it('while an operation stops the job, a slot that exits 0 is the stop, not an exception; a crash still is', () => {
    const current = new Map<number, Pod>([
      [0, ended('j-d1-0', { reason: 'Completed', exitCode: 0 }, 'Succeeded')],
      [1, ended('j-d1-1', { reason: 'Error', exitCode: 1 })],
    ]);
    expect(slotExceptions({ current, runtime: undefined }, true)).toEqual([
      { slot: 1, message: 'slot 1 ended: Error, exit 1' },
    ]);
    // With nothing pending, a clean exit without the runtime's finished message is unexplained: reported.
    expect(slotExceptions({ current, runtime: undefined })).toEqual([
      { slot: 0, message: 'slot 0 ended: Completed, exit 0' },
      { slot: 1, message: 'slot 1 ended: Error, exit 1' },
    ]);
  });
});

describe('SlotExceptionFilter: deduplicated and rate-limited per job', () => {
  const oom: SlotException = { slot: 1, message: 'slot 1 ended: OOMKilled, exit 137' };
  const min = 60_000;

  it('sends the same message once per window, however often it is seen (a restart loop failing the same way)', () => {
    const f = new SlotExceptionFilter();
    expect(f.admit('job-a', [oom], 0)).toEqual([oom.message]);
    for (const t of [1_000, 30_000, 5 * min, DEDUPE_WINDOW_MS - 1]) expect(f.admit('job-a', [oom], t)).toEqual([]);
    expect(f.admit('job-a', [oom], DEDUPE_WINDOW_MS)).toEqual([oom.message]);
    // Another job's same message is its own.
    expect(f.admit('job-b', [oom], 1_000)).toEqual([oom.message]);
    // Another slot, or another message, is another exception.
    expect(
      f.admit('job-a', [{ slot: 2, message: 'slot 2 ended: OOMKilled, exit 137' }], DEDUPE_WINDOW_MS + 1),
    ).toHaveLength(1);
  });

  it(`sends at most ${BURST} at once and ${PER_MINUTE} a minute, and the next one says how many were held back`, () => {
    const f = new SlotExceptionFilter();
    const many = (n: number, from = 0) =>
      Array.from({ length: n }, (_, i) => ({ slot: i + from, message: `slot ${i + from} ended: Error, exit 1` }));
    expect(f.admit('job', many(8), 0)).toHaveLength(BURST);
    // The 3 held back are seen again and again: counted once each, sent when tokens come back.
    expect(f.admit('job', many(8), 1_000)).toEqual([]);
    const later = f.admit('job', many(8), min / PER_MINUTE + 1_000);
    expect(later).toEqual([`slot 5 ended: Error, exit 1 (2 more held back by the rate limit)`]);
    // A minute on: the rest, and no count left over.
    expect(f.admit('job', many(8), 2 * min)).toEqual(['slot 6 ended: Error, exit 1', 'slot 7 ended: Error, exit 1']);
    // Over a long flood, the Events sent stay within the rate.
    let sent = 0;
    for (let t = 3 * min; t < 13 * min; t += 5_000) sent += f.admit('job', many(1, 100 + t / 5_000), t).length;
    expect(sent).toBeLessThanOrEqual(BURST + 10 * PER_MINUTE);
    expect(sent).toBeGreaterThanOrEqual(10 * PER_MINUTE - 1);
  });
});

describe('reportSlotExceptions: one Warning SlotException per new exception, per operator', () => {
  it('reports a slot that ended once, however many reconciles see it', async () => {
    const sent: string[] = [];
    const events = {
      warning: (_o: unknown, reason: string, message: string) => (
        sent.push(`${reason}: ${message}`),
        Promise.resolve()
      ),
    };
    const r = { deps: { events } } as unknown as ReconcilerInternals;
    const pod = ended('j-d1-1', { reason: 'OOMKilled', exitCode: 137 });
    const at = (s: number) =>
      ({
        job: { metadata: { name: 'j', namespace: 'n', uid: 'u1' } },
        obs: { current: new Map([[1, pod]]), runtime: undefined },
        now: new Date(s * 1000),
      }) as unknown as JobCtx;
    for (const s of [0, 1, 2, 15]) await reportSlotExceptions(r, at(s));
    expect(sent).toEqual(['SlotException: slot 1 ended: OOMKilled, exit 137']);
  });
});
