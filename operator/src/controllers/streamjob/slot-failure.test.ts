import { describe, expect, it } from 'vitest';
import type { StatusResponse } from '../../../../runtime/src/control/contract.ts';
import type { Pod } from './objects/slot-pod.ts';
import { deploymentFailure, endedSlots, SETTLE_MS, settlingMs } from './slot-failure.ts';

function slotPod(
  slot: number,
  state: 'running' | { reason: string; exitCode: number; message?: string; finishedAt?: string },
): Pod {
  const name = `j-d2-${slot}`;
  if (state === 'running')
    return {
      metadata: { name },
      status: {
        phase: 'Running',
        containerStatuses: [{ name: 'runtime', ready: true, restartCount: 0, state: { running: {} } }],
      },
    };
  return {
    metadata: { name },
    status: {
      phase: 'Failed',
      containerStatuses: [{ name: 'runtime', ready: false, restartCount: 0, state: { terminated: state } }],
    },
  };
}

const lostLink = { reason: 'Error', exitCode: 1, message: 'error TRIB_NET_LINK_LOST: lost the link to slot 1' };
const oom = { reason: 'OOMKilled', exitCode: 137 };
const failed = { state: 'FAILED', error: 'lost the link to slot 1' } as unknown as StatusResponse;

describe('deploymentFailure', () => {
  it('names every ended slot with its reason, in slot order, whatever order the pods were seen in', () => {
    // Slot 1 was OOMKilled; its peers failed because their links to it broke. The informer
    // delivered slot 2 first.
    const current = new Map([
      [2, slotPod(2, lostLink)],
      [0, slotPod(0, 'running')],
      [1, slotPod(1, oom)],
    ]);
    expect(deploymentFailure({ current, failedSlots: [1, 2], runtime: undefined })).toBe(
      'slot(s) 1,2 failed or vanished (slot 1 (pod j-d2-1): OOMKilled, exit 137; ' +
        'slot 2 (pod j-d2-2): Error, exit 1: error TRIB_NET_LINK_LOST: lost the link to slot 1)',
    );
  });

  it('keeps the ended slots when slot 0 already reports FAILED (the runtime error alone would hide the cause)', () => {
    const current = new Map([
      [0, slotPod(0, 'running')],
      [1, slotPod(1, oom)],
    ]);
    expect(deploymentFailure({ current, failedSlots: [1], runtime: failed })).toBe(
      'slot(s) 1 failed or vanished (slot 1 (pod j-d2-1): OOMKilled, exit 137); runtime reports FAILED: lost the link to slot 1',
    );
  });

  it('is the runtime error when no slot ended, a vanished slot without details, and nothing when all is well', () => {
    const current = new Map([
      [0, slotPod(0, 'running')],
      [1, slotPod(1, 'running')],
    ]);
    expect(deploymentFailure({ current, failedSlots: [], runtime: failed })).toBe(
      'runtime reports FAILED: lost the link to slot 1',
    );
    expect(
      deploymentFailure({ current: new Map([[0, slotPod(0, 'running')]]), failedSlots: [1], runtime: undefined }),
    ).toBe('slot(s) 1 failed or vanished');
    expect(deploymentFailure({ current, failedSlots: [], runtime: undefined })).toBeUndefined();
  });

  it('shortens each termination message so that several slots fit one Event', () => {
    const [line] = endedSlots(
      new Map([[0, slotPod(0, { reason: 'Error', exitCode: 1, message: `x\n${'y'.repeat(500)}` })]]),
    );
    expect(line).toBe(`slot 0 (pod j-d2-0): Error, exit 1: x ${'y'.repeat(198)}…`);
  });
});

describe('settlingMs', () => {
  const ended = (slot: number, finishedAt: string) => {
    return slotPod(slot, { ...oom, finishedAt });
  };
  const at = (iso: string) => new Date(iso);

  it('waits for the peers of an ended slot, at most SETTLE_MS (+1 s for whole-second finishedAt) after the first end', () => {
    const pods = new Map([
      [0, ended(0, '2026-01-01T00:00:10Z')],
      [1, slotPod(1, 'running')],
    ]);
    expect(settlingMs(pods, 2, at('2026-01-01T00:00:10.500Z'))).toBe(SETTLE_MS + 500);
    expect(settlingMs(pods, 2, at('2026-01-01T00:00:30Z'))).toBe(0);
  });

  it('decides at once when every pod ended or is being deleted, when nothing reports an end, and ignores slots beyond parallelism', () => {
    const now = at('2026-01-01T00:00:10Z');
    const allEnded = new Map([
      [0, ended(0, '2026-01-01T00:00:10Z')],
      [1, slotPod(1, lostLink)],
    ]);
    expect(settlingMs(allEnded, 2, now)).toBe(0);
    const deleting = slotPod(1, 'running');
    deleting.metadata!.deletionTimestamp = '2026-01-01T00:00:10Z';
    expect(
      settlingMs(
        new Map([
          [0, ended(0, '2026-01-01T00:00:10Z')],
          [1, deleting],
        ]),
        2,
        now,
      ),
    ).toBe(0);
    expect(settlingMs(new Map([[0, slotPod(0, 'running')]]), 2, now)).toBe(0);
    expect(
      settlingMs(
        new Map([
          [0, ended(0, '2026-01-01T00:00:10Z')],
          [2, slotPod(2, 'running')],
        ]),
        2,
        now,
      ),
    ).toBe(0);
  });
});
