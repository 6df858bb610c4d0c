// The local-filesystem StateStore (`tributary run`, tests, a volume shared by every slot pod).
// Only ENOENT means "absent"; every other errno (EACCES, EIO, ENOTDIR, ...) is an error.
import { link, mkdir, open, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { threadId } from 'node:worker_threads';
import { TributaryError } from '../../errors.ts';
import type { RangeRead, StateStore } from './state-store.ts';

function isAbsent(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function failure(op: string, location: string, e: unknown): TributaryError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return new TributaryError(
    'TRIB_STATE_STORAGE',
    `cannot ${op} ${location}: ${code ?? (e as Error).message} (state storage must be readable and writable by the job)`,
    { cause: e },
  );
}

/** Writes and fsyncs a file. */
export async function writeDurable(path: string, bytes: Uint8Array | string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}

/** This thread's commits in flight, by location: the numbers of their temporary files. */
const committing = new Map<string, Set<number>>();

export class FsStateStore implements StateStore {
  /**
   * Replaces the file atomically (a uniquely named temporary file, fsynced, then renamed over it), as
   * a PUT does on S3: a process killed mid-write leaves the old content or the new, never a truncated
   * file (an intent file cut short would hide transactional ids that must be fenced).
   */
  async write(location: string, body: Uint8Array): Promise<void> {
    const tmp = `${location}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await mkdir(dirname(location), { recursive: true });
      await writeDurable(tmp, body);
      await rename(tmp, location);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw failure('write', location, e);
    }
    await fsyncDir(dirname(location));
  }

  /**
   * The commit point, exclusive as S3's `If-None-Match: *`: the body goes to a temporary file
   * of this call (fsynced), which is then hard-linked to `location` — link(2) fails with EEXIST
   * when something is there, so of two writers exactly one commits (a rename would let the last
   * one win: a second deployment could replace the metadata or restore decision of the first).
   * The temporary name is this thread's and, while another commit of the same location is in
   * flight in it (slots deciding a restore at once), numbered apart: two calls must never write,
   * link or remove each other's file (the second's body would be committed as the first's).
   */
  async commit(location: string, body: Uint8Array): Promise<void> {
    const busy = committing.get(location) ?? new Set<number>();
    let n = 0;
    while (busy.has(n)) n++;
    busy.add(n);
    committing.set(location, busy);
    const tmp = `${location}.inprogress-${process.pid}-${threadId}${n === 0 ? '' : `.${n}`}`;
    try {
      await mkdir(dirname(location), { recursive: true });
      await writeDurable(tmp, body);
      await link(tmp, location);
    } catch (e) {
      throw failure('commit', location, e);
    } finally {
      await rm(tmp, { force: true }).catch(() => undefined);
      busy.delete(n);
      if (busy.size === 0 && committing.get(location) === busy) committing.delete(location);
    }
    await fsyncDir(dirname(location));
  }

  async read(location: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(location);
    } catch (e) {
      if (isAbsent(e)) return undefined;
      throw failure('read', location, e);
    }
  }

  async readRange(location: string, offset: number, length: number): Promise<RangeRead | undefined> {
    try {
      const fh = await open(location, 'r');
      try {
        const { size } = await fh.stat();
        const bytes = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
        let got = 0;
        while (got < bytes.length) {
          const { bytesRead } = await fh.read(bytes, got, bytes.length - got, offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return { bytes: bytes.subarray(0, got), size: offset > size ? undefined : size };
      } finally {
        await fh.close();
      }
    } catch (e) {
      if (isAbsent(e)) return undefined;
      throw failure('read', location, e);
    }
  }

  async exists(location: string): Promise<boolean> {
    try {
      await stat(location);
      return true;
    } catch (e) {
      if (isAbsent(e)) return false;
      throw failure('read', location, e);
    }
  }

  async list(location: string): Promise<string[]> {
    try {
      return await readdir(location);
    } catch (e) {
      if (isAbsent(e)) return [];
      throw failure('list', location, e);
    }
  }

  async remove(location: string): Promise<void> {
    try {
      await rm(location, { force: true });
    } catch (e) {
      throw failure('delete', location, e);
    }
  }

  async removeTree(location: string): Promise<void> {
    try {
      await rm(location, { recursive: true, force: true });
    } catch (e) {
      throw failure('delete', location, e);
    }
  }

  async removeEmptyFolder(location: string): Promise<void> {
    try {
      await rmdir(location);
    } catch (e) {
      // Not empty: a file arrived after the caller looked (or it was never emptied); it stays.
      const code = (e as NodeJS.ErrnoException).code;
      if (isAbsent(e) || code === 'ENOTEMPTY' || code === 'EEXIST') return;
      throw failure('delete', location, e);
    }
  }
}
