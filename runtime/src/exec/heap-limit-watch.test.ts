import { describe, expect, it } from 'vitest';
import { HeapLimitJudge, heapLimitError, oldGenerationLimit } from './heap-limit-watch.ts';

const MiB = 1024 * 1024;

describe('heap limit watch', () => {
  it('judges full only after `consecutive` major collections in a row at or above the ratio', () => {
    const j = new HeapLimitJudge(0.9, 3);
    const at = (used: number) => j.full({ used: used * MiB, limit: 100 * MiB });
    expect([at(95), at(91)]).toEqual([false, false]);
    // One collection that frees enough starts the count again.
    expect(at(60)).toBe(false);
    expect([at(90), at(92), at(99)]).toEqual([false, false, true]);
    expect(new HeapLimitJudge(0.9, 1).full({ used: 1, limit: 0 })).toBe(false);
  });

  it('takes the old generation limit from --max-old-space-size, else the heap limit less three semi-spaces', () => {
    const heap = 4288 * MiB;
    expect(oldGenerationLimit(heap, ['--max-old-space-size=512'], '')).toBe(512 * MiB);
    expect(oldGenerationLimit(heap, [], '--max-old-space-size=64 --enable-source-maps')).toBe(64 * MiB);
    // The command line wins over NODE_OPTIONS, and underscores spell the same flag.
    expect(oldGenerationLimit(heap, ['--max_old_space_size=300'], '--max-old-space-size=64')).toBe(300 * MiB);
    expect(oldGenerationLimit(536 * MiB, ['--max-semi-space-size=8'], '')).toBe(512 * MiB);
    // Nothing says how large the young generation is: the whole heap limit (late, never early).
    expect(oldGenerationLimit(heap, [], '')).toBe(heap);
  });

  it('names the limit, where it comes from and what fills the heap', () => {
    const e = heapLimitError(
      { used: 59 * MiB, limit: 64 * MiB },
      '--max-old-space-size=64',
      '303,104 keys in step counts',
    );
    expect(e.code).toBe('TRIB_STATE_MEMORY_LIMIT');
    expect(e.message).toContain('59 MiB');
    expect(e.message).toContain('92% of its limit of 64 MiB (--max-old-space-size=64)');
    expect(e.message).toContain('keyed state: 303,104 keys in step counts');
  });
});
