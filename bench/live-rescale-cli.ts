// The slots of bench/live-rescale.ts as `tributary run` runs them — on a worker thread each
// (`--threads`, the default for parallelism > 1) or in a process each (`--distributed`) — driven
// as a user does: `tributary run job.yaml --control-port 0` as a child process, a live rescale
// through its control API (POST /v1/migrations {to}, what `tributary rescale --to N` sends; its
// phases from GET /v1/migrations/{id}), a savepoint rescale as one is done locally (POST
// /v1/savepoints {stop: true}; once it completed, Ctrl-C, without which slot 0 keeps its control API
// up for 10 s; the run exits; a new `tributary run --parallelism N --restore <path>`).
//
// A run that exits unasked, or whose log says it restarted its slots (a failed rescale falls back
// to restarting every slot from the last checkpoint: exactly-once too, but not a live rescale),
// fails the bench.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { MigrationStatus, SavepointStatus, StatusResponse } from '../runtime/src/control/contract.ts';
import { TributaryError } from '../runtime/src/errors.ts';
import type { GraphSpec } from '../runtime/src/graph/spec.ts';
import { startCli, type CliResult, type CliRun } from '../runtime/src/testing/cli-process.ts';
import { MAXP, sleep, type RescaleHost } from './live-rescale-host.ts';

export type CliMode = 'threads' | 'distributed';

const TOKEN = 'bench-live-rescale-token';
const URL_LINE = /"url":"http:\/\/127\.0\.0\.1:(\d+)\/v1\/status"/;
const RESTARTED = /restarting all slots|job failing/;

interface Run {
  cli: CliRun;
  stateDir: string;
  port?: string;
  /** Set when the run ended without being asked to. */
  exitedUnasked?: CliResult;
  stopping: boolean;
  /** How far stderr was searched for a restart. */
  scanned: number;
}

export class CliHost implements RescaleHost {
  private current: Run | undefined;
  private readonly runs: Run[] = [];
  private readonly mode: CliMode;
  private readonly manifest: string;
  private readonly tokenFile: string;
  private readonly root: string;

  private constructor(mode: CliMode, root: string) {
    this.mode = mode;
    this.root = root;
    this.manifest = join(root, 'job.yaml');
    this.tokenFile = join(root, 'token');
  }

  /** The StreamJob manifest of `spec` and the control token, written under `root`. */
  static async create(mode: CliMode, spec: GraphSpec, root: string): Promise<CliHost> {
    const host = new CliHost(mode, root);
    const manifest = {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'StreamJob',
      metadata: { name: 'bench-live-rescale' },
      spec: { replicas: 2, maxParallelism: MAXP, checkpointing: { interval: '1s', timeout: '30s' }, graph: spec },
    };
    await writeFile(host.manifest, stringify(manifest));
    await writeFile(host.tokenFile, TOKEN, { mode: 0o600 });
    return host;
  }

  async start(parallelism: number, restoreFrom?: string): Promise<void> {
    const stateDir = await mkdtemp(join(this.root, `p${parallelism}-`));
    const args = ['run', this.manifest, `--${this.mode}`, '--parallelism', String(parallelism)];
    args.push('--control-port', '0', '--state-dir', stateDir, '--no-progress');
    if (restoreFrom) args.push('--restore', restoreFrom);
    if (process.env['BENCH_LIVE_STATE_BACKEND'] === 'disk') args.push('--state-backend', 'disk');
    const cli = startCli(args, { env: { TRIBUTARY_CONTROL_TOKEN_FILE: this.tokenFile } });
    if (process.env['BENCH_LIVE_LOG']) cli.child.stderr?.on('data', (d: Buffer) => process.stderr.write(d));
    const run: Run = { cli, stateDir, stopping: false, scanned: 0 };
    void cli.done.then((r) => {
      if (!run.stopping) run.exitedUnasked = r;
    });
    this.runs.push(run);
    this.current = run;
    const until = Date.now() + 120_000;
    while (run.port === undefined) {
      if (Date.now() > until) throw this.failed(run, 'the run logged no control URL in 120 s');
      await this.wait(100);
      run.port = URL_LINE.exec(cli.stderr)?.[1];
    }
    // The URL is logged before slot 0 listens: a refused connection here is a slot still starting.
    const state = () =>
      this.call<StatusResponse>('GET', '/v1/status').then(
        (s) => s.state,
        () => undefined,
      );
    while ((await state()) !== 'RUNNING') {
      if (Date.now() > until) throw this.failed(run, 'the run was not RUNNING after 120 s');
      await this.wait(100);
    }
  }

  async wait(ms: number): Promise<void> {
    const until = Date.now() + ms;
    for (;;) {
      const run = this.current;
      if (run?.exitedUnasked) throw this.failed(run, `the run exited (code ${run.exitedUnasked.code})`);
      if (run) {
        // From a little before the last scan's end: a match may straddle two chunks.
        const err = run.cli.stderr;
        if (RESTARTED.test(err.slice(Math.max(0, run.scanned - 100)))) throw this.failed(run, 'the run restarted');
        run.scanned = err.length;
      }
      if (Date.now() >= until) return;
      await sleep(Math.min(100, until - Date.now()));
    }
  }

  async liveRescale(to: number, marks: Record<string, number>, t0: number): Promise<{ doneAt: number; note: string }> {
    const { id } = await this.call<{ id: string }>('POST', '/v1/migrations', { to, requestId: randomUUID() });
    const until = Date.now() + 300_000;
    for (;;) {
      const m = await this.call<MigrationStatus>('GET', `/v1/migrations/${id}`);
      marks[m.phase] ??= Date.now() - t0;
      if (m.state === 'FAILED')
        throw new TributaryError('TRIB_JOB_FAILED', `live rescale to ${to} failed (${m.code}): ${m.error}`);
      if (m.state === 'COMPLETED') {
        // The job's own clock (this machine's): the poll's cadence adds nothing to the total.
        const doneAt = m.finishedAt ? Date.parse(m.finishedAt) : Date.now();
        const note = `${m.stepsDone}/${m.steps} steps, ${m.keyGroupsMoved} key groups, ${(m.bytesMoved / 1e6).toFixed(1)} MB`;
        return { doneAt, note };
      }
      if (Date.now() > until) throw this.failed(this.current!, `live rescale to ${to} not done after 300 s`);
      await this.wait(20);
    }
  }

  /**
   * The old run's exit is the mark: after it, every output write is the new run's. Marks:
   * savepoint = completed (and Ctrl-C sent), stopped = the run exited, restored = the new run RUNNING.
   */
  async savepointRescale(to: number, marks: Record<string, number>, t0: number): Promise<number> {
    const path = await this.stopWithSavepoint();
    marks['savepoint'] = Date.now() - t0;
    const end = await this.current!.cli.done;
    marks['stopped'] = Date.now() - t0;
    if (end.code !== 0) throw this.failed(this.current!, `stop-with-savepoint: the run exited with ${end.code}`);
    await this.start(to, path);
    marks['restored'] = Date.now() - t0;
    return t0 + marks['stopped'];
  }

  async finish(): Promise<void> {
    await this.stopWithSavepoint();
    const end = await this.current!.cli.done;
    if (end.code !== 0) throw this.failed(this.current!, `stop-with-savepoint: the run exited with ${end.code}`);
  }

  async close(): Promise<void> {
    for (const run of this.runs) {
      if (run.cli.child.exitCode !== null || run.cli.child.signalCode !== null) continue;
      run.stopping = true;
      run.cli.child.kill('SIGINT');
      const ended = await Promise.race([run.cli.done.then(() => true), sleep(15_000).then(() => false)]);
      if (!ended) run.cli.child.kill('SIGKILL');
    }
  }

  /**
   * POST /v1/savepoints {stop: true}, then its status until COMPLETED. The run exits right after
   * it completes, possibly before a poll saw COMPLETED: then the savepoint is the newest complete
   * folder under its state directory (the one this run just wrote; an exit with 0 says it completed).
   */
  private async stopWithSavepoint(): Promise<string> {
    const run = this.current!;
    run.stopping = true;
    const { id } = await this.call<{ id: string }>('POST', '/v1/savepoints', { stop: true, requestId: randomUUID() });
    const until = Date.now() + 120_000;
    while (Date.now() < until) {
      const sp = await this.call<SavepointStatus>('GET', `/v1/savepoints/${id}`).catch(() => undefined);
      if (sp?.state === 'COMPLETED' && sp.path) {
        // Slot 0 keeps its control API up after a stop-with-savepoint until a signal (a local run
        // for TRIBUTARY_STOP_LINGER, 10 s): the savepoint recorded, Ctrl-C ends the run, as the
        // operator deletes the pods once it has recorded the savepoint.
        run.cli.child.kill('SIGINT');
        return sp.path;
      }
      if (sp?.state === 'FAILED') throw this.failed(run, `stop-with-savepoint failed: ${sp.error}`);
      if (sp === undefined && run.cli.child.exitCode === 0) return newestSavepoint(run.stateDir);
      if (sp === undefined && run.cli.child.exitCode !== null)
        throw this.failed(run, `the run exited with ${run.cli.child.exitCode} during stop-with-savepoint`);
      await sleep(20);
    }
    throw this.failed(run, 'stop-with-savepoint not done after 120 s');
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.current!.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    // The answer's own code (TRIB_RESCALE_UNSUPPORTED, …) is in `text`: the bench stops on any refusal.
    if (!res.ok) throw new TributaryError('TRIB_JOB_FAILED', `${method} ${path}: HTTP ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** The error for a run that went wrong, with the end of its log: the rescale's phases, the restart's cause. */
  private failed(run: Run, what: string): TributaryError {
    return new TributaryError(
      'TRIB_JOB_FAILED',
      `tributary run --${this.mode}: ${what}; its stderr ends:\n${run.cli.stderr.slice(-3000)}`,
    );
  }
}

async function newestSavepoint(stateDir: string): Promise<string> {
  const dir = join(stateDir, 'savepoints');
  const names = (await readdir(dir)).filter((n) => /^sp-\d+$/.test(n));
  names.sort((a, b) => Number(b.slice(3)) - Number(a.slice(3)));
  for (const n of names)
    if (
      await stat(join(dir, n, '_metadata.json')).then(
        () => true,
        () => false,
      )
    )
      return join(dir, n);
  throw new TributaryError('TRIB_JOB_FAILED', `no complete savepoint under ${dir}`);
}
