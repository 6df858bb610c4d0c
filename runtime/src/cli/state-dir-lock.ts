// One `tributary run` per local state directory. Two runs of a job in the same folder (a run on
// threads always checkpoints into .tributary/state/<job> by default) would number their
// checkpoints from the same files and write the same chk-N folders, and a restart after a
// failure restores the newest completed checkpoint there — possibly the other run's. So a run
// holds `<dir>/.tributary-run.lock` (its pid) for its life; a second run stops at once with
// TRIB_STATE_LOCKED naming the holder. A lock whose process is gone (killed) is taken over.
// An s3:// location has no lock here: give each run its own prefix.
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isS3Uri } from '../checkpoint/storage/state-uri.ts';
import { TributaryError } from '../errors.ts';

const LOCK_FILE = '.tributary-run.lock';

export interface StateDirLock {
  release(): void;
}

export function lockStateDir(dir: string): StateDirLock {
  if (isS3Uri(dir)) return { release: () => {} };
  const file = join(dir, LOCK_FILE);
  mkdirSync(dir, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0)
        throw new TributaryError('TRIB_STATE_LOCKED', `cannot take the run lock ${file}`, { cause: e });
      const holder = holderOf(file);
      if (holder !== undefined && alive(holder))
        throw new TributaryError(
          'TRIB_STATE_LOCKED',
          `state directory ${dir} is in use by another tributary run (pid ${holder}, ${file}): two runs would write the same checkpoints; give this run its own --state-dir`,
        );
      // Its run is gone (or it was removed meanwhile): try once more.
      if (holder !== undefined) unlinkSync(file);
    }
  }
  const release = (): void => {
    try {
      if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
    } catch {
      // already gone
    }
  };
  // A forced exit (a second Ctrl-C) skips the caller's release.
  process.once('exit', release);
  return {
    release: () => {
      process.off('exit', release);
      release();
    },
  };
}

function holderOf(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TributaryError('TRIB_STATE_LOCKED', `cannot read the run lock ${file}`, { cause: e });
  }
}

function alive(pid: number): boolean {
  if (pid === 0) return false; // unreadable content: no live holder to name
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
