#!/usr/bin/env node
// The `tributary` command's entrypoint (`npm run tributary --`, the npm package's bin). It only
// turns on Node's compile cache (process/compile-cache.ts) before the CLI's modules load —
// static imports would load them first — so a run starts in about half the CPU time once the
// cache is warm; the commands are in run-cli.ts.
import { enableOwnCompileCache } from '../process/compile-cache.ts';

enableOwnCompileCache();
const { runCli, oneThreadRunEnded } = await import('./run-cli.ts');
await runCli(process.argv.slice(2));
// A failed run ends now even while a request to a dependency that does not answer (S3 frozen) is
// still open, abandoned by its bound: such a socket would otherwise keep the process alive for
// the client's own timeouts. So does a one-thread run once its job ended (its sinks closed, its
// commits done): after a live rescale a client a departed slot opened can stay open (a leak not
// found yet: docs/runtime/live-rescale.md). Other runs that ended well exit as soon as nothing is
// left to do: their slot threads may still be finishing. Output queued for a slow reader is
// waited for.
const exitWhenWritten = (): void => {
  if (process.stdout.writableLength > 0 || process.stderr.writableLength > 0) setTimeout(exitWhenWritten, 200).unref();
  else process.exit();
};
if (process.exitCode || oneThreadRunEnded()) setTimeout(exitWhenWritten, 1000).unref();
