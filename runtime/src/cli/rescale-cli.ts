// `tributary rescale --control-port P --to N [--token-file FILE] [--no-wait]`: moves a running local
// job (`tributary run --single-thread --control-port P`) to parallelism N without stopping it,
// through its control API (POST /v1/migrations), then follows the migration until it completed
// (GET /v1/migrations/{id}), printing each step. The token is the run's: the file it logged, or
// TRIBUTARY_CONTROL_TOKEN_FILE. Exit codes: 0 completed, 1 refused or failed (the code and reason
// printed), 2 bad usage.
import type { MigrationStatus } from '../core/migration.ts';
import { TributaryError } from '../errors.ts';
import { readControlToken, readTokenFile } from '../control/server.ts';

export const RESCALE_USAGE = `usage:
  tributary rescale --control-port P --to N [--token-file FILE] [--no-wait]

  Moves the running job to N slots without stopping it (a live rescale of a --single-thread run): key groups
  and Kafka partitions move to their new slots step by step, each at a checkpoint barrier, exactly-once.
  --control-port P   the run's control API on 127.0.0.1:P (tributary run --control-port P)
  --to N             the new parallelism (1 … maxParallelism)
  --token-file FILE  the control token the run logged (default: TRIBUTARY_CONTROL_TOKEN_FILE)
  --no-wait          return once the job accepted the request`;

function usage(message: string): never {
  throw new TributaryError('TRIB_CLI_USAGE', `${message}\n${RESCALE_USAGE}`);
}

export interface RescaleArgs {
  port: number;
  to: number;
  tokenFile: string | undefined;
  wait: boolean;
}

export function parseRescaleArgs(argv: readonly string[]): RescaleArgs {
  const flags = new Map<string, string>();
  let wait = true;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === '--no-wait') {
      wait = false;
      continue;
    }
    if (!['--control-port', '--to', '--token-file'].includes(flag)) usage(`rescale: unknown argument ${flag}`);
    const value = argv[++i];
    if (value === undefined || value.startsWith('--')) usage(`rescale: ${flag} needs a value`);
    flags.set(flag, value);
  }
  const int = (flag: string, min: number): number => {
    const v = flags.get(flag);
    if (v === undefined) usage(`rescale: ${flag} is required`);
    if (!/^\d+$/.test(v) || Number(v) < min) usage(`rescale: ${flag}: expected an integer ≥ ${min}, got ${v}`);
    return Number(v);
  };
  return { port: int('--control-port', 1), to: int('--to', 1), tokenFile: flags.get('--token-file'), wait };
}

/** One line per change of a migration's progress. */
export function describeMigration(s: MigrationStatus): string {
  const moved = `${s.keyGroupsMoved}/${s.keyGroups} key groups, ${mib(s.bytesMoved)} of ${mib(s.bytes)} state moved`;
  if (s.state === 'FAILED') return `${s.id} ${s.from} → ${s.to} failed (${s.code ?? 'error'}): ${s.error ?? ''}`;
  if (s.state === 'COMPLETED') return `${s.id} ${s.from} → ${s.to} completed: ${s.steps} steps, ${moved}`;
  return `${s.id} ${s.from} → ${s.to} ${s.phase}: step ${s.stepsDone}/${s.steps}, ${moved}`;
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 1)} MiB`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the command; returns its exit code. */
export async function rescaleCommand(argv: readonly string[], env = process.env): Promise<number> {
  const a = parseRescaleArgs(argv);
  const token = a.tokenFile !== undefined ? readTokenFile(a.tokenFile) : readControlToken(env);
  if (token === undefined)
    usage('rescale: give --token-file (the file `tributary run` logged) or set TRIBUTARY_CONTROL_TOKEN_FILE');
  const base = `http://127.0.0.1:${a.port}/v1/migrations`;
  const call = async (
    url: string,
    init: RequestInit = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> => {
    let res: Response;
    try {
      res = await fetch(url, {
        ...init,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
    } catch (e) {
      throw new TributaryError('TRIB_CONTROL_CONFIG', `rescale: no control API answers on 127.0.0.1:${a.port}`, {
        cause: e,
      });
    }
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const started = await call(base, { method: 'POST', body: JSON.stringify({ to: a.to }) });
  if (started.status !== 202) {
    process.stderr.write(`rescale refused (${String(started.body['code'])}): ${String(started.body['error'])}\n`);
    return 1;
  }
  const id = String(started.body['id']);
  process.stderr.write(`${id}: moving to ${a.to} slot${a.to === 1 ? '' : 's'}\n`);
  if (!a.wait) return 0;
  let last = '';
  for (;;) {
    const { status, body } = await call(`${base}/${encodeURIComponent(id)}`);
    if (status !== 200)
      throw new TributaryError(
        'TRIB_CONTROL_CONFIG',
        `rescale: ${id}: the control API answered ${status}: ${String(body['error'])}`,
      );
    const s = body as unknown as MigrationStatus;
    const line = describeMigration(s);
    if (line !== last) process.stderr.write(`${line}\n`);
    last = line;
    if (s.state === 'COMPLETED') return 0;
    if (s.state === 'FAILED') return 1;
    await sleep(200);
  }
}
