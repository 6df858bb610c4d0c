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
// ~40% of the CPU time (measured idle: 0.5 → 0.2 s CPU, ~370 → ~160 ms wall; the slots of a
// deployment start together on shared cores), and a slot's start is on the critical path of
// every rescale and upgrade. The cache lives on the job's state volume
// (<stateDir>/.cache/node-compile): the one folder every pod of the job shares and that
// outlives a deployment, so the pods of the next deployment start warm. NODE_COMPILE_CACHE
// (e.g. a folder warmed when the image is built) wins. Entries are keyed by Node version and
// file content (another image never reads a stale one); a cache that cannot be read or
// written only costs the slower start.
import { readFileSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { isAbsolute, join } from 'node:path';

function compileCacheDir(): string | undefined {
  if (process.env['NODE_COMPILE_CACHE']) return undefined; // Node turned it on already
  const root = process.env['TRIBUTARY_POD_ROOT'] || '';
  const inPod = (p: string): string => (root && isAbsolute(p) ? join(root, p) : p);
  try {
    const cfg = JSON.parse(readFileSync(inPod(process.env['TRIBUTARY_JOB_CONFIG'] ?? ''), 'utf8')) as {
      stateDir?: unknown;
    };
    // State on object storage: no shared folder, so no cache (a slower start, nothing else).
    if (typeof cfg.stateDir !== 'string' || cfg.stateDir.startsWith('s3://')) return undefined;
    return join(inPod(cfg.stateDir), '.cache', 'node-compile');
  } catch {
    return undefined; // slot-main reports a missing or bad config
  }
}

try {
  const dir = compileCacheDir();
  if (dir) enableCompileCache(dir);
} catch {
  // no cache: a slower start, nothing else
}
await import('./slot-main.ts');
