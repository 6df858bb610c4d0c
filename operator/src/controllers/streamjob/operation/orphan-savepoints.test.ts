import { describe, expect, it } from 'vitest';
import type { SavepointFolder } from '../../../../../runtime/src/control/contract.ts';
import type { StreamJob, StreamJobStatus } from '../../../api/v1alpha1/streamjob.ts';
import { orphanSavepoints, savepointFolderOf } from './orphan-savepoints.ts';

const loc = 's3://b/p/ns/j';
const created = '2026-01-01T00:00:00Z';
const after = '2026-01-01T00:05:00.000Z';
const sp = (id: number, over: Partial<SavepointFolder> = {}): SavepointFolder => ({
  name: `sp-${id}`,
  id,
  complete: true,
  triggeredAt: after,
  ...over,
});
const rec = (id: number) => ({
  id: `sp-x${id}`,
  path: `${loc}/savepoints/sp-${id}`,
  reason: 'manual',
  parallelism: 2,
  completedAt: after,
});

function job(status: StreamJobStatus, spec: Record<string, unknown> = {}): StreamJob {
  return {
    apiVersion: 'tributary.dev/v1alpha1',
    kind: 'StreamJob',
    metadata: { name: 'j', namespace: 'ns', uid: 'u', creationTimestamp: created },
    spec: { replicas: 2, graph: {}, ...spec },
    status,
  } as unknown as StreamJob;
}

const names = (fs: SavepointFolder[]) => fs.map((f) => f.name);
// Folders 1..9: 5 and 9 recorded.
const folders = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => sp(i));
const recorded = { savepoints: [rec(5), rec(9)] };

describe('orphanSavepoints', () => {
  it('chooses unrecorded folders below the newest recorded one, never the recorded ones or anything above', () => {
    expect(names(orphanSavepoints(job(recorded), 'Delete', [...folders, sp(10), sp(12)]))).toEqual([
      'sp-1',
      'sp-2',
      'sp-3',
      'sp-4',
      'sp-6',
      'sp-7',
      'sp-8',
    ]);
  });

  it('chooses nothing under Retain, without a recorded savepoint, or while a savepoint may be in flight', () => {
    expect(orphanSavepoints(job(recorded), 'Retain', folders)).toEqual([]);
    expect(orphanSavepoints(job({}), 'Delete', folders)).toEqual([]);
    const pending = (p: Record<string, string>) =>
      job({
        ...recorded,
        pendingOperation: { kind: 'rescale', targetSpecHash: 'h', startedAt: after, ...p },
      } as StreamJobStatus);
    expect(orphanSavepoints(pending({ savepointRequestId: 'r1' }), 'Delete', folders)).toEqual([]);
    expect(orphanSavepoints(pending({ savepointId: 'sp-abc' }), 'Delete', folders)).toEqual([]);
    // An operation without a savepoint (a restart) does not stop the sweep; its restoreFrom protects.
    expect(names(orphanSavepoints(pending({ restoreFrom: `${loc}/savepoints/sp-3` }), 'Delete', folders))).toEqual([
      'sp-1',
      'sp-2',
      'sp-4',
      'sp-6',
      'sp-7',
      'sp-8',
    ]);
  });

  it.each([
    ['status.resumeFrom', job({ ...recorded, resumeFrom: `${loc}/savepoints/sp-2` })],
    [
      'status.deployed.restoredFrom',
      job({
        ...recorded,
        deployed: { id: 'd', specHash: 'h', parallelism: 2, startedAt: after, restoredFrom: `${loc}/savepoints/sp-2` },
      }),
    ],
    [
      'status.lastCheckpoint',
      job({ ...recorded, lastCheckpoint: { id: 2, completedAt: after, path: `${loc}/savepoints/sp-2` } }),
    ],
    [
      'status.pendingOperation.restoreFrom',
      job({
        ...recorded,
        pendingOperation: {
          kind: 'restart',
          targetSpecHash: 'h',
          startedAt: after,
          restoreFrom: `${loc}/savepoints/sp-2`,
        },
      }),
    ],
    ['spec.restore.savepointPath', job(recorded, { restore: { savepointPath: `${loc}/savepoints/sp-2` } })],
    [
      'spec.restore.savepointPath as an in-container path',
      job(recorded, { restore: { savepointPath: '/state/savepoints/sp-2/' } }),
    ],
    [
      "the deployed spec's restore.savepointPath",
      job({
        ...recorded,
        deployed: {
          id: 'd',
          specHash: 'h',
          parallelism: 2,
          startedAt: after,
          spec: JSON.stringify({ restore: { savepointPath: `${loc}/savepoints/sp-2` } }),
        },
      }),
    ],
    [
      "the target spec's restore.savepointPath",
      job({
        ...recorded,
        pendingOperation: {
          kind: 'upgrade',
          targetSpecHash: 'h',
          startedAt: after,
          targetSpec: JSON.stringify({ restore: { savepointPath: `${loc}/savepoints/sp-2` } }),
        },
      }),
    ],
  ])('never chooses a folder %s names', (_what, j) => {
    const chosen = names(orphanSavepoints(j, 'Delete', folders));
    expect(chosen).not.toContain('sp-2');
    expect(chosen).toContain('sp-1');
  });

  it('keeps savepoints an earlier job of the same name left (triggered before this one was created) or of unknown time', () => {
    const fs = [
      sp(1, { triggeredAt: '2025-12-31T23:59:59.000Z' }),
      sp(2, { triggeredAt: undefined }),
      sp(3, { complete: false, triggeredAt: undefined }),
      sp(4),
      sp(5),
    ];
    expect(names(orphanSavepoints(job({ savepoints: [rec(5)] }), 'Delete', fs))).toEqual(['sp-3', 'sp-4']);
  });

  it('ignores listed entries whose name is not their id', () => {
    expect(
      orphanSavepoints(job(recorded), 'Delete', [{ name: 'sp-3', id: 4, complete: true, triggeredAt: after }]),
    ).toEqual([]);
  });
});

describe('savepointFolderOf', () => {
  it('names the folder of a savepoint path in any form, nothing else', () => {
    expect(savepointFolderOf('s3://b/p/ns/j/savepoints/sp-12')).toBe('sp-12');
    expect(savepointFolderOf('/state/savepoints/sp-3/')).toBe('sp-3');
    expect(savepointFolderOf('/state/checkpoints/chk-3')).toBeUndefined();
    expect(savepointFolderOf('/elsewhere/sp-3')).toBeUndefined();
    expect(savepointFolderOf(undefined)).toBeUndefined();
  });
});
