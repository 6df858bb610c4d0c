#!/usr/bin/env node
// The `tributary` command's entrypoint (`npm run tributary --`, the npm package's bin). It only
// turns on Node's compile cache (process/compile-cache.ts) before the CLI's modules load —
// static imports would load them first — so a run starts in about half the CPU time once the
// cache is warm; the commands are in run-cli.ts.
import { enableOwnCompileCache } from '../process/compile-cache.ts';

enableOwnCompileCache();
const { runCli } = await import('./run-cli.ts');
await runCli(process.argv.slice(2));
