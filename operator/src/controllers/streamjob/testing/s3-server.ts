// TEST-ONLY: the local cluster's S3 server process (`up --with s3`), which tests stop with
// SIGSTOP to make state storage hang as in a network partition, and resume with SIGCONT.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, OperatorError } from '../../../kube/index.ts';

/** The S3 server's pid, from the cluster's state file. */
export function s3ServerPid(): number {
  const state = JSON.parse(readFileSync(join(process.env.TRIBUTARY_CLUSTER_DIR ?? '', 'state.json'), 'utf8')) as {
    components: { component: string; pid: number }[];
  };
  const c = state.components.find((x) => x.component === 's3');
  if (!c) throw new OperatorError(ErrorCodes.TEST_HARNESS, 'the cluster runs no S3 server (up --with s3)');
  return c.pid;
}

let paused: number | undefined;

/** Stops the S3 server (its requests hang) until resumeS3Server(). */
export function pauseS3Server(): void {
  const pid = s3ServerPid();
  process.kill(pid, 'SIGSTOP');
  paused = pid;
}

/** Resumes a server pauseS3Server() stopped; nothing when none is stopped (safe in afterAll). */
export function resumeS3Server(): void {
  if (paused !== undefined) process.kill(paused, 'SIGCONT');
  paused = undefined;
}
