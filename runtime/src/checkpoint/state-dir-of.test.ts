import { describe, expect, it } from 'vitest';
import { stateDirOf } from './checkpoint-storage.ts';

describe('stateDirOf: the stateDir a checkpoint or savepoint folder was written under', () => {
  it('is the folder above checkpoints/ or savepoints/, on a filesystem and on S3', () => {
    expect(stateDirOf('/var/state/job/checkpoints/chk-12')).toBe('/var/state/job');
    expect(stateDirOf('/var/state/job/savepoints/sp-3/')).toBe('/var/state/job');
    expect(stateDirOf('s3://bucket/jobs/a/checkpoints/chk-7')).toBe('s3://bucket/jobs/a');
    expect(stateDirOf('s3://bucket/savepoints/sp-1')).toBe('s3://bucket');
  });

  it('is undefined for a folder outside that layout (a copy somewhere else)', () => {
    expect(stateDirOf('/backups/chk-12')).toBeUndefined();
    expect(stateDirOf('/var/state/job/savepoints/chk-12')).toBeUndefined();
    expect(stateDirOf('/var/state/job/checkpoints/chk-x')).toBeUndefined();
    expect(stateDirOf('/checkpoints/chk-1')).toBeUndefined();
  });
});
