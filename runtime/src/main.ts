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
// This file only turns on Node's compile cache (process/compile-cache.ts: where it lives and
// why there) before the engine's modules load: static imports would load them before any
// statement runs. A slot pod whose cache folder is planted starts cold once; a restart in place
// is not a thing (restartPolicy Never).
import { enableOwnCompileCache } from './process/compile-cache.ts';

enableOwnCompileCache();
const { runSlotProcess } = await import('./slot-main.ts');
runSlotProcess();
