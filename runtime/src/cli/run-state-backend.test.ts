import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadJobText, type LoadedJob } from '../graph/load.ts';
import { parseArgs } from './args.ts';
import { openLocalStateDir, runStateBackend } from './run-state-backend.ts';

const manifest = (stateBackend?: string): LoadedJob =>
  loadJobText(`
apiVersion: tributary.dev/v1alpha1
kind: StreamJob
metadata: { name: demo }
spec:
  ${stateBackend ? `stateBackend: ${stateBackend}` : 'replicas: 1'}
  graph:
    sources: [{ name: s, datagen: { generator: nexmark, rate: 10 } }]
    sinks: [{ name: o, from: s, console: {} }]
`);
const run = (...flags: string[]) => parseArgs(['run', 'job.yaml', ...flags]);

describe('runStateBackend', () => {
  it('is the heap without a flag or spec.stateBackend (undefined: the executor default)', () => {
    expect(runStateBackend(run(), manifest())).toBeUndefined();
    expect(runStateBackend(run(), manifest('{ type: heap }'))).toBeUndefined();
    expect(runStateBackend(run(), loadJobText('{sources: [], sinks: []}'))).toBeUndefined();
  });

  it('reads spec.stateBackend, and --state-backend wins over it', () => {
    expect(runStateBackend(run(), manifest('{ type: disk, cacheEntries: 5000, localVolumeSize: 1Gi }'))).toEqual({
      kind: 'disk',
      cacheEntries: 5000,
    });
    expect(runStateBackend(run('--state-backend', 'heap'), manifest('{ type: disk }'))).toBeUndefined();
    expect(runStateBackend(run('--state-backend', 'disk'), manifest())).toEqual({ kind: 'disk' });
    expect(runStateBackend(run('--state-backend', 'disk', '--local-state-dir', 'st'), manifest())).toEqual({
      kind: 'disk',
      dir: resolve('st'),
    });
  });

  it('refuses what the StreamJob webhook refuses, and --local-state-dir on the heap', () => {
    const refuses = (loaded: LoadedJob, code: string, message: string, ...flags: string[]) =>
      expect(() => runStateBackend(run(...flags), loaded)).toThrow(expect.objectContaining({ code, message }));
    refuses(
      manifest('{ type: ssd }'),
      'TRIB_MANIFEST_INVALID',
      'spec.stateBackend.type: must be heap or disk, got "ssd"',
    );
    refuses(
      manifest('{ type: disk, cacheEntries: 10 }'),
      'TRIB_MANIFEST_INVALID',
      'spec.stateBackend.cacheEntries: must be an integer of at least 1000, got 10',
    );
    refuses(
      manifest('{ localVolumeSize: 1Gi }'),
      'TRIB_MANIFEST_INVALID',
      'spec.stateBackend.localVolumeSize: applies to type disk only; set type: disk or drop it',
    );
    refuses(
      manifest(),
      'TRIB_CLI_USAGE',
      '--local-state-dir: the run keeps keyed state on the heap; add --state-backend disk (or spec.stateBackend.type: disk in the manifest)',
      '--local-state-dir',
      'st',
    );
  });
});

describe('openLocalStateDir', () => {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('makes a fresh directory under the OS temp dir and removes it on release', () => {
    const local = openLocalStateDir({ kind: 'disk', cacheEntries: 5000 });
    const dir = local.options.dir as string;
    made.push(dir);
    expect(dir.startsWith(join(tmpdir(), 'tributary-state-'))).toBe(true);
    expect(local.options).toEqual({ kind: 'disk', dir, cacheEntries: 5000 });
    expect(statSync(dir).isDirectory()).toBe(true);
    local.release();
    expect(existsSync(dir)).toBe(false);
  });

  it('makes a --local-state-dir that does not exist yet and never removes it', () => {
    const parent = mkdtempSync(join(tmpdir(), 'trib-local-state-'));
    made.push(parent);
    const dir = join(parent, 'a', 'b');
    const local = openLocalStateDir({ kind: 'disk', dir });
    expect(local.options.dir).toBe(dir);
    expect(statSync(dir).isDirectory()).toBe(true);
    local.release();
    expect(existsSync(dir)).toBe(true);
  });
});
