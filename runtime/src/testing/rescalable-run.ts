// A local `tributary run <manifest> <mode> --control-port 0` as a user starts it to rescale it live, for
// tests that drive the CLI: the manifest written to `dir`, a control token, the control port it logged,
// its GET /v1/status, and `tributary rescale --to N` as a separate process.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import type { StatusResponse } from '../control/contract.ts';
import { TributaryError } from '../errors.ts';
import { startCli, type CliResult, type CliRun } from './cli-process.ts';

export interface RescalableRun {
  job: CliRun;
  /** The environment `tributary` commands against this run need (its control token). */
  env: Record<string, string>;
  status(): Promise<StatusResponse>;
  /** `tributary rescale --control-port <port> --to <to>`, to its end. */
  rescale(to: number): Promise<CliResult>;
}

/** Starts the run; resolves once its control API answers and the job is RUNNING. */
export async function startRescalableRun(
  dir: string,
  manifest: unknown,
  mode: string,
  extraEnv: Record<string, string> = {},
): Promise<RescalableRun> {
  const file = join(dir, 'job.yaml');
  await writeFile(file, stringify(manifest));
  const tokenFile = join(dir, 'token');
  const token = `rescale-${Math.random().toString(36).slice(2)}`;
  await writeFile(tokenFile, token, { mode: 0o600 });
  const env = { TRIBUTARY_CONTROL_TOKEN_FILE: tokenFile, ...extraEnv };
  const job = startCli(['run', file, mode, '--control-port', '0', '--state-dir', join(dir, 'state'), '--no-progress'], {
    env,
  });
  const portRe = /"url":"http:\/\/127\.0\.0\.1:(\d+)\/v1\/status"/;
  let port = '';
  const status = async (): Promise<StatusResponse> => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/status`, { headers: { authorization: `Bearer ${token}` } });
    return (await res.json()) as StatusResponse;
  };
  try {
    await expect.poll(() => portRe.exec(job.stderr)?.[1], { timeout: 60_000 }).toBeDefined();
    port = (portRe.exec(job.stderr) as RegExpExecArray)[1] as string;
    await expect.poll(async () => (await status()).state, { timeout: 60_000 }).toBe('RUNNING');
  } catch (e) {
    job.child.kill('SIGKILL');
    const ends = `the run's stderr ends:\n${job.stderr.slice(-3000)}`;
    throw new TributaryError('TRIB_INVARIANT', `${(e as Error).message}\n${ends}`, { cause: e });
  }
  const rescale = (to: number): Promise<CliResult> =>
    startCli(['rescale', '--control-port', port, '--to', String(to)], { env }).done;
  return { job, env, status, rescale };
}
