import { describe, expect, it } from 'vitest';
import type { StatusResponse } from '../control/contract.ts';
import type { SlotHandle } from '../process/supervisor.ts';
import { MIN_WATERMARK } from '../core/watermark.ts';
import { SlotStatusPoller } from './slot-status-poller.ts';

function handle(slot: number): SlotHandle {
  return { slot, pid: slot, dataAddress: '', controlAddress: '', metricsAddress: '', controlToken: '' } as SlotHandle;
}

function answer(slot: number, recordsIn: number, watermarkMs?: number): StatusResponse {
  return {
    contractVersion: 1,
    jobName: 'j',
    deploymentId: 'd',
    slot,
    parallelism: 2,
    state: 'RUNNING',
    recordsIn,
    recordsOut: recordsIn,
    ...(watermarkMs === undefined ? {} : { watermarkMs }),
  };
}

describe('SlotStatusPoller', () => {
  it('sums the slots, shows the lowest watermark once every slot has one, and keeps an ended slot’s last watermark', async () => {
    const slots = [handle(0), handle(1)];
    let answers: (StatusResponse | undefined)[] = [answer(0, 10, 5_000), answer(1, 7)];
    const poller = new SlotStatusPoller(
      () => slots,
      (h) => Promise.resolve(answers[h.slot]),
    );
    await poller.poll();
    expect(poller.status()).toMatchObject({ recordsIn: 17, recordsOut: 17, watermark: MIN_WATERMARK });

    answers = [answer(0, 20, 6_000), answer(1, 9, 4_000)];
    await poller.poll();
    expect(poller.status()).toMatchObject({ recordsIn: 29, watermark: 4_000 });

    // Slot 1's sources ended: its watermark is +∞, which the status omits. The job's is slot 0's
    // or slot 1's last, whichever is lower — not unknown.
    answers = [answer(0, 30, 8_000), answer(1, 9)];
    await poller.poll();
    expect(poller.status()).toMatchObject({ recordsIn: 39, watermark: 4_000 });

    // A slot that does not answer keeps its last answer: the sums never dip.
    answers = [undefined, answer(1, 9)];
    await poller.poll();
    expect(poller.status()).toMatchObject({ recordsIn: 39, watermark: 4_000 });
  });

  it('starts a new attempt (new handles) from zero and without a watermark', async () => {
    let slots = [handle(0)];
    const poller = new SlotStatusPoller(
      () => slots,
      (h) => Promise.resolve(answer(h.slot, slots === first ? 50 : 3, slots === first ? 9_000 : undefined)),
    );
    const first = slots;
    await poller.poll();
    expect(poller.status()).toMatchObject({ recordsIn: 50, watermark: 9_000 });
    slots = [handle(0)];
    await poller.poll();
    expect(poller.status()).toMatchObject({ recordsIn: 3, watermark: MIN_WATERMARK });
  });
});
