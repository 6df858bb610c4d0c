import { describe, expect, it } from 'vitest';
import { MAX_REMEMBERED, RemovedFiles } from './removed-files.ts';

describe('the removed files retention remembers', () => {
  it('keeps the newest keys up to its bound, forgetting the oldest first', () => {
    const removed = new RemovedFiles(3);
    for (const k of ['chk-1/a', 'chk-1/b', 'chk-2/a', 'chk-3/a', 'chk-3/b']) removed.add(k);
    expect([...removed]).toEqual(['chk-2/a', 'chk-3/a', 'chk-3/b']);
    expect(removed.has('chk-1/a')).toBe(false);
    expect(removed.has('chk-3/b')).toBe(true);
  });

  it('holds every key below its default bound', () => {
    const removed = new RemovedFiles();
    for (let i = 0; i < MAX_REMEMBERED; i++) removed.add(`chk-${i}/s.slot-0.kdelta`);
    expect(removed.size).toBe(MAX_REMEMBERED);
    removed.add('chk-x/s.slot-0.kdelta');
    expect(removed.size).toBe(MAX_REMEMBERED);
    expect(removed.has('chk-0/s.slot-0.kdelta')).toBe(false);
    expect(removed.has('chk-1/s.slot-0.kdelta')).toBe(true);
  });
});
