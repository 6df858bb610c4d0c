// installKafkajsPatch on real kafkajs modules that no patch of ours touches (shuffle.js,
// swapObject.js), each put back afterwards: it replaces a module before its user loads, reports
// an earlier installation as installed, refuses once the user has loaded, and leaves a module of
// an unexpected shape alone.
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { cachedKafkajsModule, installKafkajsPatch, isMarked, withMark } from './kafkajs-module-patch.ts';

const require = createRequire(import.meta.url);
const MARK = Symbol('test.patch');
const restore: (() => void)[] = [];

/** Loads `file` and arranges for its original exports to be put back after the test. */
function keep(file: string): unknown {
  const original = require(file) as unknown;
  const path = require.resolve(file);
  restore.push(() => {
    (require.cache[path] as NodeJS.Module).exports = original;
  });
  return original;
}

/** Removes `file` from the cache for the test (a module nobody has loaded yet), then puts it back. */
function unload(file: string): void {
  const path = require.resolve(file);
  const mod = require.cache[path];
  delete require.cache[path];
  restore.push(() => {
    if (mod) require.cache[path] = mod;
    else delete require.cache[path];
  });
}

afterEach(() => {
  for (const r of restore.splice(0).reverse()) r();
});

describe('installKafkajsPatch', () => {
  it('replaces the module while its user has not loaded, and a second installation finds it installed', () => {
    const original = keep('kafkajs/src/utils/shuffle.js');
    unload('kafkajs/src/utils/swapObject.js');
    const replacement = withMark(() => 'patched', MARK);
    const patch = {
      file: 'kafkajs/src/utils/shuffle.js',
      loadedBy: 'kafkajs/src/utils/swapObject.js',
      isPatched: (e: unknown) => isMarked(e, MARK),
      replace: (o: unknown) => (o === original ? replacement : undefined),
    };
    expect(installKafkajsPatch(patch)).toBe(true);
    expect(cachedKafkajsModule('kafkajs/src/utils/shuffle.js')).toBe(replacement);
    // Even once the user has loaded: the exports are the patch's.
    require('kafkajs/src/utils/swapObject.js');
    expect(installKafkajsPatch(patch)).toBe(true);
  });

  it('refuses once the user has loaded (it holds the original), and leaves a module of another shape alone', () => {
    const original = keep('kafkajs/src/utils/shuffle.js');
    require('kafkajs/src/utils/swapObject.js');
    const late = {
      file: 'kafkajs/src/utils/shuffle.js',
      loadedBy: 'kafkajs/src/utils/swapObject.js',
      isPatched: (e: unknown) => isMarked(e, MARK),
      replace: () => withMark(() => 'patched', MARK),
    };
    expect(installKafkajsPatch(late)).toBe(false);
    expect(cachedKafkajsModule('kafkajs/src/utils/shuffle.js')).toBe(original);

    unload('kafkajs/src/utils/swapObject.js');
    expect(installKafkajsPatch({ ...late, replace: () => undefined })).toBe(false);
    expect(cachedKafkajsModule('kafkajs/src/utils/shuffle.js')).toBe(original);
    expect(installKafkajsPatch({ ...late, file: 'kafkajs/src/no/such/file.js' })).toBe(false);
  });
});
