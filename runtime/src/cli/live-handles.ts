// Diagnostic (TRIBUTARY_DIAG_HANDLES=1, or =FILE to append there instead of stderr): records where
// each handle and timer of this process was created, and after a one-thread run's job ended prints
// those still alive — what holds the event loop when the process does not exit by itself. Off by
// default: an async hook costs on every resource.
import { createHook } from 'node:async_hooks';
import { appendFileSync, writeSync } from 'node:fs';

const skipped = new Set(['PROMISE', 'TickObject', 'Immediate', 'FILEHANDLE', 'RANDOMBYTESREQUEST', 'FSREQCALLBACK']);
const live = new Map<number, { type: string; stack: string }>();

/** Starts recording (once per process). */
export function recordHandles(): void {
  Error.stackTraceLimit = 40;
  createHook({
    init(id, type) {
      if (skipped.has(type)) return;
      live.set(id, { type, stack: (new Error().stack ?? '').split('\n').slice(3).join('\n') });
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
}

/** Writes the resources still alive and where each was created. */
export function printLiveHandles(): void {
  let text = `live handles of pid ${process.pid}: ${JSON.stringify(process.getActiveResourcesInfo())}\n`;
  for (const [id, r] of live) text += `live ${id} ${r.type}\n${r.stack}\n`;
  const to = process.env['TRIBUTARY_DIAG_HANDLES'];
  if (to && to !== '1') appendFileSync(to, text);
  else writeSync(2, text);
}
