// TEST-ONLY: one slot process started as a slot pod starts it (runtime/src/main.ts with the
// contract's environment and a job config file), with loopback ports instead of peer discovery:
// its log lines as they come, the lines its sinks print, and its end. Deployments of one test
// share a folder (job configs by deployment) and the job's control token.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { JobConfig } from '../control/contract.ts';
import { launchSlot } from '../process/slot-launch.ts';
import { collectLines, type Line, type Run } from './tributary-run.ts';

export interface PodSlot extends Run {
  /** What the slot printed on stdout (console sinks). */
  stdout(): string;
}

export interface PodSlotLaunch {
  /** Folder for the job config files (and the token file, written by podSlotToken). */
  dir: string;
  token: { token: string; file: string };
  deployment: string;
  config: JobConfig;
  slot: number;
  /** Every slot's data port, by slot (slot `slot` listens on its own). */
  dataPorts: readonly number[];
  control: number;
  metrics: number;
  env?: Record<string, string>;
}

/** The job's control token and its 0600 file in `dir`. */
export function podSlotToken(dir: string, token: string): { token: string; file: string } {
  const file = join(dir, 'control-token');
  writeFileSync(file, token, { mode: 0o600 });
  return { token, file };
}

export function launchPodSlot(o: PodSlotLaunch): PodSlot {
  const cfgFile = join(o.dir, `${o.deployment}.json`);
  writeFileSync(cfgFile, JSON.stringify(o.config));
  const lines: Line[] = [];
  let out = '';
  let exited!: (e: { code: number | null; at: number }) => void;
  const ended = new Promise<{ code: number | null; at: number }>((r) => (exited = r));
  const h = launchSlot(
    { logger: pino({ level: 'silent' }), stdio: 'pipe', env: { TRIBUTARY_LOG_LEVEL: 'info', ...o.env } },
    {
      slot: o.slot,
      parallelism: o.config.parallelism,
      maxParallelism: o.config.maxParallelism,
      jobName: o.config.jobName,
      deploymentId: o.deployment,
      jobConfigFile: cfgFile,
      peers: o.dataPorts.map((p) => `127.0.0.1:${p}`),
      ports: { data: o.dataPorts[o.slot] as number, control: o.control, metrics: o.metrics },
      secret: o.token,
      onExit: (code) => exited({ code, at: Date.now() }),
    },
  );
  const child = h.child;
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', collectLines(lines));
  return { lines, exited: ended, kill: () => child.kill('SIGKILL'), stdout: () => out };
}
