#!/usr/bin/env node
// Build-time step of the runtime image: fills Node's compile cache (NODE_COMPILE_CACHE) with
// the slot's modules, so every slot process of the image starts warm instead of type-stripping
// and compiling ~170 of our files and the connectors' libraries again (measured idle: ~2.3 →
// ~1.1 s CPU per slot start; rescale restarts p slots at once, so this is rescale downtime).
//
// Invariants: only loads modules (importing slot-main.ts runs nothing); the cache is keyed by
// Node version, file path, content and uid (Node's own layout), so it must run with the image's
// final paths and user, and a stale or foreign entry is ignored by Node, never used.
import { flushCompileCache, getCompileCacheDir } from 'node:module';

if (!getCompileCacheDir()) {
  process.stderr.write('warm-compile-cache: set NODE_COMPILE_CACHE to a writable folder\n');
  process.exit(2);
}
await import('./slot-main.ts');
// Loaded on first use, so not reached through slot-main: Druid's HTTP client, the Kudu client,
// the S3 state store (and the AWS SDK).
await import('undici');
await import('./connectors/kudu/client/kudu-client.ts');
await import('./checkpoint/storage/s3-state-store.ts');
flushCompileCache();
process.stdout.write(`compile cache warmed in ${getCompileCacheDir()}\n`);
