#!/usr/bin/env node
// The `tributary` command's entrypoint (`npm run tributary --`, the npm package's bin). It only
// turns on Node's compile cache (process/compile-cache.ts) before the CLI's modules load —
// static imports would load them first — so a run starts in about half the CPU time once the
// cache is warm; the commands are in run-cli.ts.
import { enableOwnCompileCache } from '../process/compile-cache.ts';

enableOwnCompileCache();
if (process.env['TRIBUTARY_DIAG_HANDLES']) (await import('./live-handles.ts')).recordHandles();
const { runCli, oneThreadRunEnded } = await import('./run-cli.ts');
await runCli(process.argv.slice(2));
// A failed run ends now even while a request to a dependency that does not answer (S3 frozen) is
// still open, abandoned by its bound: such a socket would otherwise keep the process alive for
// the client's own timeouts. So does a one-thread run once its job ended (its sinks closed, its
// commits done), as a guard: a library's timer or socket that outlives the job must not keep the
// run alive (kafka/consumer-loop.ts refuses kafkajs's restart of a stopped consumer;
// exec/live-rescale-resources.int checks that nothing else is left). Other runs that ended well exit as soon
// as nothing is left to do: their slot threads may still be finishing. Output queued for a slow
// reader is waited for.
// Diagnostics: TRIBUTARY_NO_FORCED_EXIT=1 leaves a one-thread run to exit by itself (a test that it
// does); TRIBUTARY_DIAG_HANDLES=1 (or =FILE) prints what still holds the loop 3 s after its job ended,
// with where each was created (live-handles.ts).
const exitWhenWritten = (): void => {
  if (process.stdout.writableLength > 0 || process.stderr.writableLength > 0) setTimeout(exitWhenWritten, 200).unref();
  else process.exit();
};
if (process.env['TRIBUTARY_DIAG_HANDLES'] && oneThreadRunEnded()) {
  const { printLiveHandles } = await import('./live-handles.ts');
  setTimeout(printLiveHandles, 3000).unref();
}
if (process.exitCode || (oneThreadRunEnded() && !process.env['TRIBUTARY_NO_FORCED_EXIT']))
  setTimeout(exitWhenWritten, 1000).unref();
