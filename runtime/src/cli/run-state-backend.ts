// Where a `tributary run` keeps keyed state: --state-backend, else the manifest's
// spec.stateBackend.type, else the heap. With disk, the stores go under --local-state-dir, else a
// fresh directory under the OS temp dir that the run removes when it ends. Every slot of the run
// (one thread, slot threads or slot processes) gets the same directory: each store makes its own
// subdirectory under it. spec.stateBackend.localVolumeSize sizes a slot pod's volume and means
// nothing locally. Resolved in one place, so that `tributary validate` refuses what `run` would.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TributaryError } from '../errors.ts';
import type { LoadedJob } from '../graph/load.ts';
import type { StateBackendKind, StateBackendOptions } from '../state/state-backend-options.ts';
import type { RunArgs } from './args.ts';

/** The smallest spec.stateBackend.cacheEntries, as the CRD's schema and the operator's validation say. */
export const MIN_CACHE_ENTRIES = 1000;

export const STATE_BACKEND_KINDS: readonly StateBackendKind[] = ['heap', 'disk'];

/** The run's backend, its directory not made yet; undefined = the heap. */
export function runStateBackend(args: RunArgs, loaded: LoadedJob): StateBackendOptions | undefined {
  const spec = loaded.stateBackend;
  const at = 'spec.stateBackend';
  const bad = (field: string, message: string): TributaryError =>
    new TributaryError('TRIB_MANIFEST_INVALID', `${at}.${field}: ${message}`, { path: `${at}.${field}` });
  const specType = spec?.type ?? 'heap';
  if (specType !== 'heap' && specType !== 'disk')
    throw bad('type', `must be heap or disk, got ${JSON.stringify(specType)}`);
  const cache = spec?.cacheEntries;
  if (cache !== undefined && !(typeof cache === 'number' && Number.isInteger(cache) && cache >= MIN_CACHE_ENTRIES))
    throw bad('cacheEntries', `must be an integer of at least ${MIN_CACHE_ENTRIES}, got ${JSON.stringify(cache)}`);
  if (specType === 'heap')
    for (const field of ['localVolumeSize', 'cacheEntries'] as const)
      if (spec?.[field] !== undefined) throw bad(field, 'applies to type disk only; set type: disk or drop it');
  const kind = args.stateBackend ?? specType;
  if (kind === 'heap') {
    if (args.localStateDir !== undefined)
      throw new TributaryError(
        'TRIB_CLI_USAGE',
        `--local-state-dir: the run keeps keyed state on the heap; add --state-backend disk${loaded.manifest ? ' (or spec.stateBackend.type: disk in the manifest)' : ''}`,
      );
    return undefined;
  }
  return {
    kind: 'disk',
    ...(args.localStateDir !== undefined ? { dir: resolve(args.localStateDir) } : {}),
    ...(typeof cache === 'number' ? { cacheEntries: cache } : {}),
  };
}

/** A disk backend's directory, made; `release` removes it when the run made it (never a --local-state-dir). */
export interface LocalStateDir {
  readonly options: StateBackendOptions;
  release(): void;
}

/**
 * Makes the directory `sb` names, or a fresh one under the OS temp dir when it names none. The
 * fresh one is removed by `release` and, should the process end without it (a forced exit), on
 * the process's exit.
 */
export function openLocalStateDir(sb: StateBackendOptions): LocalStateDir {
  if (sb.dir !== undefined) {
    mkdirSync(sb.dir, { recursive: true });
    return { options: sb, release: () => {} };
  }
  const dir = mkdtempSync(join(tmpdir(), 'tributary-state-'));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  process.once('exit', remove);
  return {
    options: { ...sb, dir },
    release: () => {
      process.off('exit', remove);
      remove();
    },
  };
}
