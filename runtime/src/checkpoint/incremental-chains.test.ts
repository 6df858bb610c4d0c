import { describe, expect, it } from 'vitest';
import { IncrementalChains, MAX_DELTAS, MAX_DELTAS_COMPACTING } from './incremental-chains.ts';
import { COMPACT_AFTER, worthCompacting } from './chain-compactor.ts';
import type { KeyedStateHandle } from './messages.ts';

const RANGE = { start: 0, end: 9 };
const file = (name: string): KeyedStateHandle => ({
  file: name,
  size: 1,
  sha256: name,
  keyGroupRange: RANGE,
  keyGroups: [[0, 9]],
});

/** Acknowledges checkpoints `ids` of step "s": the first a full snapshot, each next a delta on the one before. */
function chainOf(c: IncrementalChains, ids: number[]): void {
  c.acknowledged('s', ids[0] as number, file('s.slot-0.kstate'));
  for (let i = 1; i < ids.length; i++) {
    const id = ids[i] as number;
    c.acknowledged('s', id, c.deltaHandle('s', ids[i - 1] as number, file('s.slot-0.kdelta')));
  }
}

describe('incremental chains', () => {
  it('a delta references its base chain from the base checkpoint’s folder, oldest first', () => {
    const c = new IncrementalChains();
    chainOf(c, [3, 4, 5]);
    expect(c.chainOf('s', 5)).toMatchObject({
      file: 's.slot-0.kstate',
      from: 'chk-3',
      deltas: [{ file: 's.slot-0.kdelta', from: 'chk-4' }, { file: 's.slot-0.kdelta' }],
    });
    expect(c.chainOf('s', 5)?.deltas?.[1]).not.toHaveProperty('from');
  });

  it('no delta without the base’s chain, past MAX_DELTAS, or after a rewrite abort until a full snapshot', () => {
    const c = new IncrementalChains();
    expect(c.canDelta('s', 1)).toBe(false);
    chainOf(c, [1]);
    expect(c.canDelta('s', 1)).toBe(true);
    expect(c.canDelta('s', undefined)).toBe(false);
    chainOf(
      c,
      Array.from({ length: MAX_DELTAS + 1 }, (_, i) => 10 + i),
    );
    expect(c.canDelta('s', 10 + MAX_DELTAS - 1)).toBe(true);
    expect(c.canDelta('s', 10 + MAX_DELTAS)).toBe(false);
    // While a compaction of the step runs, the chain goes on to MAX_DELTAS_COMPACTING, and no further.
    expect(c.canDelta('s', 10 + MAX_DELTAS, true)).toBe(true);
    chainOf(
      c,
      Array.from({ length: MAX_DELTAS_COMPACTING + 1 }, (_, i) => 100 + i),
    );
    expect(c.canDelta('s', 100 + MAX_DELTAS_COMPACTING - 1, true)).toBe(true);
    expect(c.canDelta('s', 100 + MAX_DELTAS_COMPACTING, true)).toBe(false);
    // A timeout or a decline leaves the completed chains as bases: a full snapshot of a large
    // state after every such abort would outlast the next checkpoint's timeout too.
    c.aborted(98, false);
    expect(c.canDelta('s', 11)).toBe(true);
    c.aborted(99, true);
    expect(c.canDelta('s', 11)).toBe(false);
    c.snapshotTaken('s', true);
    expect(c.canDelta('s', 11)).toBe(false);
    c.snapshotTaken('s', false);
    expect(c.canDelta('s', 11)).toBe(true);
    c.completed(12);
    expect(c.canDelta('s', 11)).toBe(false);
  });

  it('a compacted base replaces the chain it folds, in that checkpoint’s chain and in later ones built on it', () => {
    const c = new IncrementalChains();
    chainOf(c, [1, 2, 3, 4]);
    c.acknowledged('s', 6, c.deltaHandle('s', 4, file('s.slot-0.kdelta')));
    c.compacted('s', 4, file('s.slot-0.base-4.kstate'), c.chainOf('s', 4) as KeyedStateHandle);
    expect(c.chainOf('s', 4)).toEqual(file('s.slot-0.base-4.kstate'));
    expect(c.chainOf('s', 6)).toEqual({
      ...file('s.slot-0.base-4.kstate'),
      from: 'chk-4',
      deltas: [file('s.slot-0.kdelta')],
    });
    // An older chain is left alone (no longer a base once 4 completed).
    expect(c.chainOf('s', 3)?.deltas).toHaveLength(2);
    // The next delta on 6 references the compacted base and 6's delta.
    expect(c.deltaHandle('s', 6, file('n'))).toMatchObject({
      file: 's.slot-0.base-4.kstate',
      from: 'chk-4',
      deltas: [{ file: 's.slot-0.kdelta', from: 'chk-6' }, { file: 'n' }],
    });
  });

  it('a compaction that ends after later checkpoints completed still folds their chains', () => {
    // At a 1 s interval a large chain's compaction outlasts several checkpoints: by its end the
    // chain it read is no longer kept (completed(6) dropped it), and later chains must still adopt it.
    const c = new IncrementalChains();
    chainOf(c, [1, 2, 3, 4]);
    const read = c.chainOf('s', 4) as KeyedStateHandle;
    c.acknowledged('s', 5, c.deltaHandle('s', 4, file('s.slot-0.kdelta')));
    c.acknowledged('s', 6, c.deltaHandle('s', 5, file('s.slot-0.kdelta')));
    c.completed(6);
    expect(c.chainOf('s', 4)).toBeUndefined();
    c.compacted('s', 4, file('s.slot-0.base-4.kstate'), read);
    expect(c.chainOf('s', 6)).toEqual({
      ...file('s.slot-0.base-4.kstate'),
      from: 'chk-4',
      deltas: [{ ...file('s.slot-0.kdelta'), from: 'chk-5' }, file('s.slot-0.kdelta')],
    });
  });

  it('a chain that no longer starts with the compacted one (a full snapshot since) is left alone', () => {
    const c = new IncrementalChains();
    chainOf(c, [1, 2, 3]);
    c.acknowledged('s', 5, file('s.slot-0.kstate'));
    c.compacted('s', 3, file('s.slot-0.base-3.kstate'), c.chainOf('s', 3) as KeyedStateHandle);
    expect(c.chainOf('s', 5)).toEqual(file('s.slot-0.kstate'));
  });
});

describe('when a chain is compacted', () => {
  const chain = (base: number, deltas: number[]): KeyedStateHandle => ({
    ...file('b'),
    size: base,
    deltas: deltas.map((size, i) => ({ ...file(`d${i}`), size })),
  });
  it('once its deltas hold half its base’s bytes, or at COMPACT_AFTER deltas; never below two deltas', () => {
    expect(worthCompacting(chain(100, [60]))).toBe(false);
    expect(worthCompacting(chain(100, [20, 20]))).toBe(false);
    expect(worthCompacting(chain(100, [25, 25]))).toBe(true);
    expect(
      worthCompacting(
        chain(
          1000,
          Array.from({ length: COMPACT_AFTER - 1 }, () => 1),
        ),
      ),
    ).toBe(false);
    expect(
      worthCompacting(
        chain(
          1000,
          Array.from({ length: COMPACT_AFTER }, () => 1),
        ),
      ),
    ).toBe(true);
    expect(worthCompacting(file('b'))).toBe(false);
  });
});
