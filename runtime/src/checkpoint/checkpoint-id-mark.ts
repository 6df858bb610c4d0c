// The highest checkpoint id ever issued for a state location (`<state>/_checkpoint-id`, on the
// filesystem or in the bucket), so ids never repeat across restarts: an aborted checkpoint's
// folder is discarded and old ones are pruned or disposed, so the folders alone under-count.
// Sinks and slots key their work by checkpoint id (a pre-committed transaction, a state file
// name), and a reused id could meet a leftover of its first use. Written through the state
// store before the id is used (whole-object writes: never torn). An unreadable or corrupt mark
// stops the coordinator (fail closed); a missing one is 0 (state from before the mark, or new).
import { TributaryError } from '../errors.ts';
import { stateStoreFor } from './storage/state-store-for.ts';
import { childOf } from './storage/state-uri.ts';

export const ID_MARK_FILE = '_checkpoint-id';

export async function readIdMark(stateDir: string): Promise<number> {
  const path = childOf(stateDir, ID_MARK_FILE);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await stateStoreFor(path).read(path);
  } catch (e) {
    throw new TributaryError(
      'TRIB_CHECKPOINT_FAILED',
      `cannot read the checkpoint id mark ${path}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  if (bytes === undefined) return 0;
  const text = Buffer.from(bytes).toString('utf8');
  const n = Number(text.trim());
  if (!Number.isSafeInteger(n) || n < 0)
    throw new TributaryError(
      'TRIB_CHECKPOINT_FAILED',
      `checkpoint id mark ${path} holds ${JSON.stringify(text.slice(0, 40))}, not a checkpoint id`,
    );
  return n;
}

export async function writeIdMark(stateDir: string, id: number): Promise<void> {
  const path = childOf(stateDir, ID_MARK_FILE);
  try {
    await stateStoreFor(path).write(path, Buffer.from(String(id)));
  } catch (e) {
    throw new TributaryError(
      'TRIB_CHECKPOINT_FAILED',
      `cannot record checkpoint id ${id} in ${path}: ${(e as Error).message}`,
      { cause: e },
    );
  }
}
