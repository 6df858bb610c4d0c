import { describe, expect, it } from 'vitest';
import { checkWithinLog, recreatedTopic, restoredOffsets, startOffset } from './start-positions.ts';

const log = { low: 5n, high: 42n };

describe('startOffset', () => {
  it('restored: the checkpointed offset; a partition the checkpoint does not know starts at its earliest offset', () => {
    const restored = new Map([[0, 17n]]);
    expect(startOffset(0, log, { restored, startFrom: 'latest', initial: true })).toBe(17n);
    expect(startOffset(1, log, { restored, startFrom: 'latest', initial: true })).toBe(5n);
  });

  it('a checkpoint taken while the topic was missing (no offsets) restores every partition from the earliest offset', () => {
    expect(startOffset(3, log, { restored: new Map(), startFrom: 'latest', initial: true })).toBe(5n);
  });

  it('without a checkpoint: the committed group offset, else startFrom for partitions that existed at open', () => {
    const committed = new Map([[2, 30n]]);
    expect(startOffset(2, log, { restored: undefined, committed, startFrom: 'latest', initial: true })).toBe(30n);
    expect(startOffset(0, log, { restored: undefined, committed, startFrom: 'latest', initial: true })).toBe(42n);
    expect(startOffset(0, log, { restored: undefined, committed, startFrom: 'earliest', initial: true })).toBe(5n);
  });

  it('partitions found after open (a created topic, added partitions) start at the earliest offset whatever startFrom says', () => {
    expect(startOffset(4, log, { restored: undefined, startFrom: 'latest', initial: false })).toBe(5n);
  });
});

describe('restoredOffsets', () => {
  it("merges the slots' offsets of this topic; undefined when no position is about it", () => {
    const positions = [
      { kind: 'kafka', topic: 't', offsets: { '0': '10', '2': '7' } },
      { kind: 'kafka', topic: 't', offsets: { '1': '3' } },
      { kind: 'kafka', topic: 'other', offsets: { '5': '1' } },
      null,
    ];
    expect(restoredOffsets(positions, 't')).toEqual(
      new Map([
        [0, 10n],
        [2, 7n],
        [1, 3n],
      ]),
    );
    expect(restoredOffsets(positions, 'missing')).toBeUndefined();
    expect(restoredOffsets(undefined, 't')).toBeUndefined();
    expect(restoredOffsets([{ kind: 'kafka', topic: 't', offsets: {} }], 't')).toEqual(new Map());
  });
});

describe('positions a new log cannot hold', () => {
  it('a start past the log end fails naming the partition, both offsets and where the position came from', () => {
    expect(() => checkWithinLog('in', 't', 3, 42n, log, true)).not.toThrow(); // at the end: nothing to read yet
    expect(() => checkWithinLog('in', 't', 3, 200n, log, true)).toThrow(
      expect.objectContaining({
        code: 'TRIB_SOURCE_POSITION_INVALID',
        message: expect.stringContaining(
          'partition 3 of topic t ends at offset 42, before the position 200 it starts from (the restored checkpoint)',
        ),
      }),
    );
    expect(() => checkWithinLog('in', 't', 3, 43n, log, false)).toThrow(/the source group's committed offset/);
  });

  it('a topic that came back under a source that read from it fails; one it never read from is just read', () => {
    const at = (m: Record<number, bigint>) => ({ accepted: (p: number) => m[p] });
    expect(() => recreatedTopic('in', 't', [0, 2], at({ 0: 0n, 2: 0n }))).not.toThrow();
    expect(() => recreatedTopic('in', 't', [0, 2], at({ 0: 0n, 2: 17n }))).toThrow(
      expect.objectContaining({
        code: 'TRIB_SOURCE_POSITION_INVALID',
        message: expect.stringContaining(
          'topic t was deleted and created again while the source read it (partition 2 at offset 17)',
        ),
      }),
    );
  });
});
