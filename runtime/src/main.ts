#!/usr/bin/env node
// The slot pod's entrypoint (image tributary/runtime:*; `node runtime/src/main.ts`), to the
// operator ↔ runtime contract (control/contract.ts). Also what `tributary run --distributed`
// starts once per slot, with explicit peers on loopback.
//
//   env → JobConfig (validated graph) → control API on CONTROL_PORT and data plane on
//   DATA_PORT, both on the pod IP → peers (explicit list, or the deployment's pods through
//   the Kubernetes API) → run this slot → exit.
//
// Exit codes: 0 the job finished, or was stopped (SIGTERM/SIGINT; a stop-with-savepoint ends
// the same way); 1 the job failed (here or in a peer: a lost link fails this slot too);
// 2 bad environment or job config (retrying cannot help).
//
// This file only turns on Node's compile cache before the engine's modules load (static
// imports would load them before any statement runs): with a warm cache loading them takes
// ~40% of the CPU time (measured idle: 0.5 → 0.2 s CPU, ~370 → ~160 ms wall).
// The cache is code this process will run, so it lives where only this process's pod writes:
// the pod's own /tmp (an emptyDir; under the node agent <pod root>/tmp), in a folder this uid
// created with mode 0700, used only while it is still ours and writable by no one else. It is
// never on the job's state volume, which other pods of the job and whoever can mount the
// claim can write (a planted V8 code cache entry would run as the slot). Such a pod starts
// cold once; a restart in place is not a thing (restartPolicy Never). NODE_COMPILE_CACHE wins:
// the runtime image sets it to a read-only folder warmed at build time (warm-compile-cache.ts),
// so its slots start warm. A cache that cannot be made or used only costs the slower start.
import { mkdirSync, statSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function compileCacheDir(): string | undefined {
  if (process.env['NODE_COMPILE_CACHE']) return undefined; // Node turned it on already
  const root = process.env['TRIBUTARY_POD_ROOT'] || '';
  const uid = process.getuid?.() ?? -1;
  const dir = join(root ? join(root, 'tmp') : tmpdir(), `tributary-node-compile-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  // Someone else's folder (made first in a shared /tmp), or one others may write: not used.
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) return undefined;
  return dir;
}

try {
  const dir = compileCacheDir();
  if (dir) enableCompileCache(dir);
} catch {
  // no cache: a slower start, nothing else
}
const { runSlotProcess } = await import('./slot-main.ts');
runSlotProcess();
