// TEST-ONLY: SIGKILL of a slot pod's process. The dev cluster's node agent runs pods as local
// processes (TRIBUTARY_NODE_AGENT_RUNTIME=process), each with TRIBUTARY_POD_NAME in its
// environment: killing it is a crashed pod (exit 137), which a real slot cannot do on demand.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { ErrorCodes, OperatorError } from '../../../kube/errors.ts';

/** Kills the node process of pod `podName`; returns its pid. */
export function killSlotProcess(podName: string): number {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let env = '';
    try {
      env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (!readlinkSync(`/proc/${pid}/exe`).includes('node')) continue;
    } catch {
      continue;
    }
    if (env.split('\0').includes(`TRIBUTARY_POD_NAME=${podName}`)) {
      process.kill(Number(pid), 'SIGKILL');
      return Number(pid);
    }
  }
  throw new OperatorError(ErrorCodes.TEST_HARNESS, `no process of pod ${podName}`);
}
