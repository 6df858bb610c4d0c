import { describe, expect, it } from 'vitest';
import { silentLogger } from '../telemetry/logger.ts';
import type { CheckpointAck, CheckpointDecline } from './messages.ts';
import { SlotCheckpointer } from './slot-checkpointer.ts';

function checkpointer(): { cp: SlotCheckpointer; acks: CheckpointAck[]; declines: CheckpointDecline[] } {
  const acks: CheckpointAck[] = [];
  const declines: CheckpointDecline[] = [];
  const cp = new SlotCheckpointer({
    slot: 0,
    keyGroupRange: { start: 0, end: 127 },
    post: (cb) => cb(),
    coordinator: { acknowledge: (a) => acks.push(a), decline: (d) => declines.push(d) },
    logger: silentLogger(),
    onComplete: () => {},
    onAborted: () => {},
  });
  return { cp, acks, declines };
}

describe('SlotCheckpointer', () => {
  it('a sink pre-commit that rejects after its checkpoint was declined is not an unhandled rejection', async () => {
    const { cp, declines } = checkpointer();
    cp.registerTask();
    cp.registerTask();
    cp.taskDeclined(3, 'aborted at a gate');
    let reject!: (e: Error) => void;
    const committables = new Promise<readonly unknown[]>((_, rej) => (reject = rej));
    cp.taskSnapshot(3, { keyed: [], sources: [], sinks: [{ name: 'out', committables }], alignmentMs: 0 });
    reject(new Error('send failed'));
    await new Promise((r) => setTimeout(r, 20));
    expect(declines.map((d) => d.checkpointId)).toEqual([3]);
  });

  it('a pre-commit failure of a checkpoint in progress still declines it', async () => {
    const { cp, acks, declines } = checkpointer();
    cp.registerTask();
    cp.trigger({ checkpointId: 4, timestamp: 0, kind: 'checkpoint', stop: false, dir: '/nonexistent' });
    cp.taskSnapshot(4, { keyed: [], sources: [], sinks: [{ name: 'out', committables: Promise.reject(new Error('send failed')) }], alignmentMs: 0 });
    await new Promise((r) => setTimeout(r, 20));
    expect(acks).toEqual([]);
    expect(declines[0]?.reason).toMatch(/send failed/);
  });
});
