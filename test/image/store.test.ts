// The container store's run root: podman refuses one over 50 characters, so a home longer than
// /root's must still get one it accepts, shared by every process of the same store, and never a
// directory another user could have prepared.
import { chmodSync, chownSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_RUNROOT_LENGTH, runRootOf, storeFlags } from '../../image/store.ts';

const longRoot = '/home/a-data-platform-engineer/.cache/tributary/containers';
const made: string[] = [];
afterEach(() => {
  for (const p of made.splice(0)) rmSync(p, { recursive: true, force: true });
});

describe('container store run root', () => {
  it('stays beside a store whose path fits the limit', () => {
    expect(runRootOf({ root: '/root/.cache/tributary/containers', driver: 'overlay' })).toBe(
      '/root/.cache/tributary/containers/run-overlay',
    );
  });

  it('is a short path named after the store (and its driver) when beside it would be too long', () => {
    const overlay = runRootOf({ root: longRoot, driver: 'overlay' });
    expect(`${longRoot}/run-overlay`.length).toBeGreaterThan(MAX_RUNROOT_LENGTH);
    expect(overlay.length).toBeLessThanOrEqual(MAX_RUNROOT_LENGTH);
    expect(overlay).toMatch(/^\/tmp\/tributary-run-[0-9a-f]{12}-overlay$/);
    expect(runRootOf({ root: longRoot, driver: 'overlay' })).toBe(overlay);
    expect(runRootOf({ root: longRoot, driver: 'vfs' })).not.toBe(overlay);
    expect(runRootOf({ root: `${longRoot}-2`, driver: 'overlay' })).not.toBe(overlay);
  });

  it('creates the short run root for this user only, and passes it to podman', () => {
    const root = `${longRoot}-flags-${process.pid}`;
    const runRoot = runRootOf({ root, driver: 'overlay' });
    made.push(runRoot);
    const flags = storeFlags({ root, driver: 'overlay' });
    expect(flags.slice(flags.indexOf('--runroot'), flags.indexOf('--runroot') + 2)).toEqual(['--runroot', runRoot]);
    expect(statSync(runRoot).mode & 0o777).toBe(0o700);
  });

  it('refuses a run root others may write, naming it', () => {
    const root = `${longRoot}-open-${process.pid}`;
    const runRoot = runRootOf({ root, driver: 'overlay' });
    made.push(runRoot);
    mkdirSync(runRoot, { mode: 0o700 });
    chmodSync(runRoot, 0o777);
    expect(() => storeFlags({ root, driver: 'overlay' })).toThrow(
      expect.objectContaining({ code: 'IMAGE_STORE_FAILED', message: expect.stringContaining(runRoot) }),
    );
  });

  it.skipIf(process.getuid?.() !== 0)("refuses another user's run root (as root: one chowned to nobody)", () => {
    const root = `${longRoot}-foreign-${process.pid}`;
    const runRoot = runRootOf({ root, driver: 'overlay' });
    made.push(runRoot);
    mkdirSync(runRoot, { mode: 0o700 });
    chownSync(runRoot, 65534, 65534);
    expect(() => storeFlags({ root, driver: 'overlay' })).toThrow(/not a directory of uid 0/);
  });
});
