// The filesystem store's commit point (FsStateStore.commit) when several commits of one location are in
// flight in one thread, as when slots of one process decide a restore at once: exactly one commits, the
// file holds that one's body, and every other call is refused — none commits another call's body.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsStateStore } from './fs-state-store.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('FsStateStore.commit, several in flight in one thread', () => {
  it.each([2, 5, 16])('%i at once: one commits its own body, the others are refused', async (n) => {
    const dir = await mkdtemp(join(tmpdir(), 'trib-commit-'));
    dirs.push(dir);
    const at = join(dir, 'decisions', 'd.json');
    const store = new FsStateStore();
    const bodies = Array.from({ length: n }, (_, i) => `body-${i}-${'x'.repeat(i * 1000)}`);
    const results = await Promise.allSettled(bodies.map((b) => store.commit(at, new TextEncoder().encode(b))));
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    expect(await readFile(at, 'utf8')).toBe(bodies[won[0] as number]);
    for (const r of results)
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'TRIB_STATE_STORAGE' });
    expect(await readdir(join(dir, 'decisions'))).toEqual(['d.json']); // no temporary file left
  });
});
