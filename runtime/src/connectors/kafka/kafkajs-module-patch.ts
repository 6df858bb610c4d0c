// Replaces one module of kafkajs 2.2.4 in Node's CommonJS cache, before kafkajs loads: every
// kafkajs-*.ts patch of this folder installs itself through here. kafkajs modules take their
// dependencies with require() when they are first evaluated, so a replacement only takes effect
// if no module that requires the patched one has been evaluated yet (`loadedBy`); after that the
// original stays in use and the patch reports false. A module whose exports carry the patch's
// mark was replaced by an earlier evaluation of the patch (a test runner that re-imports ESM
// modules while Node keeps its CommonJS cache): installed, true. kafkajs is frozen (last release
// 2023), so the patches are pinned to its file layout: a file that moved or changed shape leaves
// the original in place.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface ModulePatch {
  /** The kafkajs module to replace, e.g. 'kafkajs/src/consumer/filterAbortedMessages.js'. */
  readonly file: string;
  /** A kafkajs module that requires `file` when it loads: once it has, replacing is too late. */
  readonly loadedBy: string;
  /** Whether `exports` are the patch's (an earlier installation). */
  readonly isPatched: (exports: unknown) => boolean;
  /** The new exports, given the original ones; undefined when they are not what the patch expects. */
  readonly replace: (original: unknown) => unknown;
}

/** The cached exports of a kafkajs module, loading it if needed; undefined when it cannot be found. */
export function kafkajsModule(file: string): unknown {
  try {
    return require(file) as unknown;
  } catch {
    return undefined;
  }
}

/** The exports of `file` in the CommonJS cache now (undefined when not loaded or not found). */
export function cachedKafkajsModule(file: string): unknown {
  try {
    return require.cache[require.resolve(file)]?.exports;
  } catch {
    return undefined;
  }
}

/** Installs `p`; true when kafkajs uses the replacement (now or from an earlier installation). */
export function installKafkajsPatch(p: ModulePatch): boolean {
  let file: string;
  let loadedBy: string;
  try {
    file = require.resolve(p.file);
    loadedBy = require.resolve(p.loadedBy);
  } catch {
    return false;
  }
  const cached = require.cache[file];
  if (cached && p.isPatched(cached.exports)) return true;
  if (require.cache[loadedBy]) return false;
  const original = kafkajsModule(p.file);
  if (original === undefined) return false;
  const next = p.replace(original);
  const mod = require.cache[file];
  if (next === undefined || !mod) return false;
  mod.exports = next;
  return true;
}

/** Marks `fn` with `mark` (so isMarked recognises it in exports); returns it. */
export function withMark<T extends object>(fn: T, mark: symbol): T {
  (fn as Record<symbol, unknown>)[mark] = true;
  return fn;
}

export function isMarked(v: unknown, mark: symbol): boolean {
  return (
    (typeof v === 'function' || (typeof v === 'object' && v !== null)) && (v as Record<symbol, unknown>)[mark] === true
  );
}
