import { describe, expect, it } from 'vitest';
import type { CheckpointAck, KeyedStateHandle } from './messages.ts';
import { filesOfAcks, pinnedByAcks, removedReference } from './shared-file-guard.ts';

const RANGE = { start: 0, end: 3 };
const handle = (file: string, from?: string, deltas: KeyedStateHandle[] = []): KeyedStateHandle => ({
  file,
  size: 1,
  sha256: 'x',
  keyGroupRange: RANGE,
  ...(from ? { from } : {}),
  ...(deltas.length > 0 ? { deltas } : {}),
});
const ack = (slot: number, operators: Record<string, KeyedStateHandle>): CheckpointAck => ({
  slot,
  checkpointId: 9,
  operators,
  sources: {},
  sinks: {},
  stateSize: 0,
  alignmentMs: 0,
});

describe('files shared between checkpoints', () => {
  const acks = [
    ack(0, { w: handle('w.slot-0.kstate', 'chk-4', [handle('w.slot-0.kdelta', 'chk-6'), handle('w.slot-0.kdelta')]) }),
    ack(1, { w: handle('w.slot-1.kstate') }),
  ];

  it('the acknowledgements of a checkpoint reference their own folder’s files and the older ones they name', () => {
    expect([...filesOfAcks(acks, 9)].sort()).toEqual([
      'chk-4/w.slot-0.kstate',
      'chk-6/w.slot-0.kdelta',
      'chk-9/w.slot-0.kdelta',
      'chk-9/w.slot-1.kstate',
    ]);
  });

  it('a checkpoint referencing a file retention removed is named, one referencing none is not', () => {
    expect(removedReference(acks, 9, new Set(['chk-6/w.slot-0.kdelta']))).toBe('chk-6/w.slot-0.kdelta');
    expect(removedReference(acks, 9, new Set(['chk-6/w.slot-1.kdelta', 'chk-3/w.slot-0.kstate']))).toBeUndefined();
    expect(removedReference(acks, 9, new Set())).toBeUndefined();
  });

  it('pins what the acknowledgements received so far reference, and follows new ones', () => {
    const received = new Map<number, CheckpointAck>();
    let pending: { id: number; acks: Map<number, CheckpointAck> } | undefined;
    const pinned = pinnedByAcks(() => pending);
    expect(pinned('chk-4/w.slot-0.kstate')).toBe(false); // nothing in progress
    pending = { id: 9, acks: received };
    expect(pinned('chk-4/w.slot-0.kstate')).toBe(false);
    received.set(0, acks[0] as CheckpointAck);
    expect(pinned('chk-4/w.slot-0.kstate')).toBe(true);
    expect(pinned('chk-9/w.slot-1.kstate')).toBe(false);
    received.set(1, acks[1] as CheckpointAck);
    expect(pinned('chk-9/w.slot-1.kstate')).toBe(true);
    // The next checkpoint's acknowledgements, not the last one's.
    pending = { id: 10, acks: new Map([[1, { ...(acks[1] as CheckpointAck), checkpointId: 10 }]]) };
    expect(pinned('chk-4/w.slot-0.kstate')).toBe(false);
    expect(pinned('chk-10/w.slot-1.kstate')).toBe(true);
    pending = undefined;
    expect(pinned('chk-10/w.slot-1.kstate')).toBe(false);
  });
});
