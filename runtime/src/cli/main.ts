#!/usr/bin/env node
// The `tributary` command's entrypoint (`npm run tributary --`, the npm package's bin). It only
// turns on Node's compile cache (process/compile-cache.ts) before the CLI's modules load —
// static imports would load them first — so a run starts in about half the CPU time once the
// cache is warm; the commands are in run-cli.ts.
import { enableOwnCompileCache } from '../process/compile-cache.ts';

enableOwnCompileCache();
const { runCli } = await import('./run-cli.ts');
await runCli(process.argv.slice(2));
// The command is over: the process ends within a second even while something still holds the
// event loop. A failed run may leave a request to a dependency that does not answer (S3 frozen)
// open, abandoned by its bound; a run that rescaled live may leave a Kafka client of a slot that
// left open (a leak not found yet: docs/runtime/live-rescale.md). Either would otherwise keep the
// process alive for the client's own timeouts, or for good. Nothing is lost by it: the job's
// sinks are closed and its commits done when runCli resolves; output still queued for a slow
// reader of stdout or stderr is waited for.
const exitWhenWritten = (): void => {
  if (process.stdout.writableLength > 0 || process.stderr.writableLength > 0) setTimeout(exitWhenWritten, 200).unref();
  else process.exit();
};
setTimeout(exitWhenWritten, 1000).unref();
