// The highest checkpoint id ever issued for a state directory (`<stateDir>/_checkpoint-id`),
// so ids never repeat across restarts: an aborted checkpoint's folder is discarded and old
// ones are pruned or disposed, so the folders alone under-count. Sinks and slots key their
// work by checkpoint id (a pre-committed transaction, a state file name), and a reused id
// could meet a leftover of its first use. Written before the id is used (temporary file, then
// rename: never torn), without fsync: it has to survive a process restart, which the page
// cache does; after a machine crash the ids whose folders survived still count. An unreadable
// or corrupt mark stops the coordinator (fail closed); a missing one is 0 (a state directory
// from before the mark, or a new one).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TributaryError } from '../errors.ts';

export const ID_MARK_FILE = '_checkpoint-id';

export async function readIdMark(stateDir: string): Promise<number> {
  const path = join(stateDir, ID_MARK_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw new TributaryError(
      'TRIB_CHECKPOINT_FAILED',
      `cannot read the checkpoint id mark ${path}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  const n = Number(text.trim());
  if (!Number.isSafeInteger(n) || n < 0)
    throw new TributaryError(
      'TRIB_CHECKPOINT_FAILED',
      `checkpoint id mark ${path} holds ${JSON.stringify(text.slice(0, 40))}, not a checkpoint id`,
    );
  return n;
}

export async function writeIdMark(stateDir: string, id: number): Promise<void> {
  const path = join(stateDir, ID_MARK_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(stateDir, { recursive: true });
    await writeFile(tmp, String(id));
    await rename(tmp, path);
  } catch (e) {
    throw new TributaryError(
      'TRIB_CHECKPOINT_FAILED',
      `cannot record checkpoint id ${id} in ${path}: ${(e as Error).message}`,
      { cause: e },
    );
  }
}
