#!/usr/bin/env node
// The `tributary` command's entrypoint (`npm run tributary --`, the npm package's bin). It only
// turns on Node's compile cache (process/compile-cache.ts) before the CLI's modules load —
// static imports would load them first — so a run starts in about half the CPU time once the
// cache is warm; the commands are in run-cli.ts.
import { enableOwnCompileCache } from '../process/compile-cache.ts';

enableOwnCompileCache();
const { runCli } = await import('./run-cli.ts');
await runCli(process.argv.slice(2));
// A failed run ends now even while a request to a dependency that does not answer (S3 frozen) is
// still open, abandoned by its bound: such a socket would otherwise keep the process alive for
// the client's own timeouts. A run that ended well exits as soon as nothing is left to do.
if (process.exitCode) setTimeout(() => process.exit(), 1000).unref();
