// kubectl against the local cluster, for tests that check what a user sees (scale subresource,
// kstatus waits, printer columns, admission refusals). The environment is the test's: `eval
// "$(npm run -s cluster -- env)"` sets KUBECONFIG.
import { spawn, spawnSync } from 'node:child_process';

/** Runs kubectl to completion; for quick commands only (it blocks this process's event loop). */
export const kubectl = (args: string[], input?: string) =>
  spawnSync('kubectl', args, { encoding: 'utf8', env: process.env, input, timeout: 60_000 });

/**
 * Runs kubectl without blocking: for `kubectl wait`, which returns only once the in-process
 * operator under test has done its work.
 */
export const kubectlAsync = (args: string[]) =>
  new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const p = spawn('kubectl', args, { env: process.env });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stderr }));
  });
