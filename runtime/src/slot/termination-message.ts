// The reason a slot ends, in the container's termination message file (Kubernetes' default
// /dev/termination-log, writable even on a read-only root): the operator reports it in status
// (Degraded, lastError), so e.g. a refused S3 key or a missing bucket is named there, not only in
// the pod's log; a finished slot's line says it finished (control/finished.ts). Best effort.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { RuntimeEnv } from '../control/contract.ts';
import { containerPath, LocalEnv } from '../process/slot-env.ts';

const TERMINATION_LOG = '/dev/termination-log';

export function writeTerminationMessage(text: string): void {
  // Only in a pod (the downward API names it): `tributary run --distributed` must not write the host's /dev.
  if (!process.env[RuntimeEnv.podName]) return;
  try {
    const file = containerPath(TERMINATION_LOG, process.env[LocalEnv.podRoot] || undefined);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text.slice(0, 4000));
  } catch {
    // no writable termination log (e.g. `tributary run`): stderr has it
  }
}
