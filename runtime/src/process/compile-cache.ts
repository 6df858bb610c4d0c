// Node's compile cache for this process's own modules, turned on by an entrypoint before the
// engine's modules load (static imports would load them before any statement runs). Start-up
// CPU, cold → warm cache (`/usr/bin/time`, idle machine): a slot 0.5 → 0.2 s; `tributary run`
// of a 100-record job 1.16 → 0.56–0.67 s; `--threads -p 2` 3.3 → 1.6–1.7 s (worker-thread
// slots load through the same cache): about half.
//
// The cache is code this process will run, so it lives where only this user writes: under the
// temporary folder (a slot pod's own /tmp, an emptyDir; under the node agent <pod root>/tmp), in
// a folder this uid created with mode 0700, used only while it is still ours and writable by
// no one else. Never on a job's state volume, which other pods of the job and whoever can
// mount the claim can write (a planted V8 code cache entry would run as us). NODE_COMPILE_CACHE
// wins: the runtime image sets it to a read-only folder warmed at build time
// (warm-compile-cache.ts). A cache that cannot be made or used only costs the slower start.
import { lstatSync, mkdirSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function ownCacheDir(): string | undefined {
  if (process.env['NODE_COMPILE_CACHE']) return undefined; // Node turned it on already
  const root = process.env['TRIBUTARY_POD_ROOT'] || '';
  const uid = process.getuid?.() ?? -1;
  const dir = join(root ? join(root, 'tmp') : tmpdir(), `tributary-node-compile-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  // Someone else's folder (made first in a shared /tmp), one others may write, or a link to
  // somewhere else: not used.
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) return undefined;
  return dir;
}

/** Turns on the compile cache in this user's own folder (see the file comment); never throws. */
export function enableOwnCompileCache(): void {
  try {
    const dir = ownCacheDir();
    if (dir) enableCompileCache(dir);
  } catch {
    // no cache: a slower start, nothing else
  }
}
