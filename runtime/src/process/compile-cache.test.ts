// The compile cache's folder as an entrypoint's process sees it (a child process on Node 24,
// as `tributary run` and a slot start): made by this uid with mode 0700 and used; refused when
// the folder is not ours alone (a planted cache would run as us); NODE_COMPILE_CACHE wins.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const node = join(root, 'node_modules/.bin/node');
const probe = [
  `import { getCompileCacheDir } from 'node:module';`,
  `import { enableOwnCompileCache } from ${JSON.stringify(join(import.meta.dirname, 'compile-cache.ts'))};`,
  `enableOwnCompileCache();`,
  `await import(${JSON.stringify(join(import.meta.dirname, 'slot-env.ts'))});`, // something to cache
  `process.stdout.write(getCompileCacheDir() ?? 'off');`,
].join('\n');

/** What the compile cache is in a process started with `env` (its folder, or 'off'). */
function cacheIn(env: Record<string, string>): string {
  const r = spawnSync(node, ['--input-type=module', '-e', probe], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('compile cache of an entrypoint', () => {
  const dirs: string[] = [];
  const temp = () => {
    const d = mkdtempSync(join(tmpdir(), 'trib-cc-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const uid = process.getuid?.() ?? -1;

  it("is made in the user's temporary folder, mode 0700, and filled", () => {
    const tmp = temp();
    const dir = cacheIn({ TMPDIR: tmp });
    const own = join(tmp, `tributary-node-compile-${uid}`);
    expect(dir.startsWith(`${own}/`)).toBe(true);
    expect(statSync(own).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir).length).toBeGreaterThan(0);
  });

  it("a slot pod's is under its own /tmp (TRIBUTARY_POD_ROOT)", () => {
    const pod = temp();
    mkdirSync(join(pod, 'tmp'));
    expect(cacheIn({ TRIBUTARY_POD_ROOT: pod, TMPDIR: temp() })).toMatch(
      new RegExp(`^${join(pod, 'tmp', `tributary-node-compile-${uid}`)}/`),
    );
  });

  it('a folder others may write is not used: the process starts without a cache', () => {
    const tmp = temp();
    const planted = join(tmp, `tributary-node-compile-${uid}`);
    mkdirSync(planted);
    chmodSync(planted, 0o777);
    expect(cacheIn({ TMPDIR: tmp })).toBe('off');
    expect(readdirSync(planted)).toEqual([]);
  });

  it('a link in its place is not followed, even to a folder of ours', () => {
    const tmp = temp();
    const elsewhere = join(tmp, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    symlinkSync(elsewhere, join(tmp, `tributary-node-compile-${uid}`));
    expect(cacheIn({ TMPDIR: tmp })).toBe('off');
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('NODE_COMPILE_CACHE (the image warmed at build time) wins', () => {
    const tmp = temp();
    const image = join(tmp, 'image-cache');
    expect(cacheIn({ TMPDIR: tmp, NODE_COMPILE_CACHE: image }).startsWith(`${image}/`)).toBe(true);
    expect(readdirSync(tmp)).toEqual(['image-cache']);
  });
});
