// `tributary run` with slots on threads (the default above parallelism 1, `--threads`) or
// processes (`--distributed`): the job as it runs in Kubernetes (one worker_thread per slot of
// this process, or one process per slot; the pods' slot code, TCP data plane), supervised
// locally (process/supervisor.ts). --restore is the first attempt's state.
// Ctrl-C or --duration stops every slot (--drain: each fires its open windows first); a slot
// that dies restarts all of them. On a terminal, the progress line sums the slots'. --metrics-port
// serves the supervisor's metrics (restarts, attempts without a checkpoint) and every slot's,
// labelled `slot` (supervised-metrics.ts). --control-port P puts slot 0's control API (status,
// savepoints) on P. --ui serves the dashboard (run-ui.ts): the slots' status each round, the
// supervisor's attempts and slot exits as its restarts and exceptions.
import { readMetadata } from '../checkpoint/metadata.ts';
import { TributaryError } from '../errors.ts';
import { normalizeLocation } from '../checkpoint/storage/state-uri.ts';
import type { Logger } from 'pino';
import { CONTRACT_VERSION } from '../control/contract.ts';
import { localControlToken, type LocalToken } from '../control/local-token.ts';
import type { LoadedJob } from '../graph/load.ts';
import { defaultMaxParallelism } from '../state/key-groups.ts';
import type { StateBackendOptions } from '../state/state-backend-options.ts';
import { loopbackPortFree } from '../process/loopback-ports.ts';
import { Supervisor, type AttemptInfo, type SupervisorOptions } from '../process/supervisor.ts';
import { SupervisorMetrics } from '../process/supervisor-metrics.ts';
import { ThreadSlot } from '../process/thread-slot.ts';
import { startMetricsServer, type MetricsServer } from '../telemetry/metrics-server.ts';
import { describePlan, planGraph } from '../graph/plan.ts';
import type { ValidatedGraph } from '../graph/validated-graph.ts';
import { refuseSharedFileSinks } from '../process/shared-file-sinks.ts';
import { LocalEnv } from '../process/slot-env.ts';
import type { RunArgs } from './args.ts';
import { forwardLines } from './forward-lines.ts';
import { ProgressLine } from './progress.ts';
import { readStatus, SlotStatusPoller } from './slot-status-poller.ts';
import { startRunUi, type RunUi } from './run-ui.ts';
import { supervisedMetrics } from './supervised-metrics.ts';
import { DEFAULT_SUPERVISED_INTERVAL_MS } from '../checkpoint/defaults.ts';
import type { RunCheckpointing } from './run-checkpointing.ts';
import type { ResolvedRunMode } from './run-mode.ts';

export async function runDistributed(
  args: RunArgs,
  loaded: LoadedJob,
  graph: ValidatedGraph,
  cp: RunCheckpointing,
  logger: Logger,
  { mode, parallelism, stateBackend }: ResolvedRunMode & { stateBackend?: StateBackendOptions },
): Promise<number> {
  const threads = mode === 'threads';
  const restore = await checkBeforeStart(args, loaded, graph, parallelism, threads);
  const metrics = new SupervisorMetrics({ processMetrics: args.metricsPort !== undefined });
  // The progress line sums the slots' status; their output then passes through this process in
  // whole lines, each after the line is cleared (forward-lines.ts).
  const progress = ProgressLine.onTerminal(args.progress);
  // --control-port: slot 0's control API (the coordinator's: savepoints) on that port, under the
  // user's token (TRIBUTARY_CONTROL_TOKEN_FILE) or a generated one, which is then the job's secret.
  const control = args.controlPort !== undefined ? localControlToken() : undefined;
  // --ui: the dashboard reads every slot of the running attempt; restarts and exits are its exceptions.
  const running: { sup?: Supervisor } = {};
  const ui: RunUi | undefined =
    args.ui === undefined
      ? undefined
      : await startRunUi({
          address: args.ui,
          jobName: loaded.name,
          graph,
          parallelism,
          logger,
          read: () => Promise.all((running.sup?.slots ?? []).map(readStatus)),
        });
  const sup = new Supervisor({
    ...supervisorOptions(args, loaded, cp, parallelism, restore, stateBackend),
    host: threads ? 'thread' : 'process',
    ...(progress ? { stdio: 'pipe' as const } : {}),
    ...(control ? { secret: { token: control.token, file: control.file } } : {}),
    ...attemptHooks(progress, control, ui, logger),
    logger,
    metrics,
  });
  running.sup = sup;
  const onSignal = stopOnSignals(sup, progress, logger);
  const timer = args.durationMs !== undefined ? setTimeout(() => sup.stop(), args.durationMs) : undefined;
  let server: MetricsServer | undefined;
  try {
    if (args.metricsPort !== undefined) {
      server = await startMetricsServer(
        supervisedMetrics(metrics.registry, () => sup.slots),
        args.metricsPort,
      );
      logger.info({ url: `http://127.0.0.1:${server.port}/metrics` }, 'metrics endpoint');
    }
    await superviseToEnd(sup, progress, loaded, logger);
    return 0;
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await server?.close();
    await ui?.close();
  }
}

/**
 * What would fail every attempt alike, said once before any slot starts; returns the state the
 * first attempt restores (--restore, else the job file's savepoint).
 */
async function checkBeforeStart(
  args: RunArgs,
  loaded: LoadedJob,
  graph: ValidatedGraph,
  parallelism: number,
  threads: boolean,
): Promise<string | undefined> {
  refuseSharedFileSinks(
    graph.spec,
    parallelism,
    threads ? { command: 'run --threads', slots: 'threads' } : { command: 'run --distributed', slots: 'processes' },
    loaded.graphPath,
  );
  // Checked before any slot starts, as a run on one thread checks it: slots that cannot restore
  // would fail every attempt alike, and a stop during the restarts' backoff would end in STOPPED.
  const restore = args.restore ?? loaded.restore?.savepointPath;
  if (restore !== undefined) await readMetadata(normalizeLocation(restore));
  // Every slot runs the whole plan on its share of the key groups and partitions.
  if (args.explain) for (const line of describePlan(planGraph(graph))) process.stderr.write(`${line}\n`);
  // A port that cannot be bound would fail slot 0 in every attempt: said once, before any starts.
  if (args.controlPort) {
    const port = args.controlPort;
    await loopbackPortFree(port).catch((e: unknown) => {
      throw new TributaryError('TRIB_CONTROL_CONFIG', `--control-port ${port}: cannot listen on 127.0.0.1:${port}`, {
        cause: e,
      });
    });
  }
  return restore;
}

/** The job's configuration for every slot, and the run's options that do not depend on its output. */
function supervisorOptions(
  args: RunArgs,
  loaded: LoadedJob,
  cp: RunCheckpointing,
  parallelism: number,
  restore: string | undefined,
  stateBackend: StateBackendOptions | undefined,
): Pick<SupervisorOptions, 'config' | 'restoreFrom' | 'stopGraceMs' | 'slot0ControlPort' | 'maxRestarts' | 'env'> {
  return {
    config: {
      contractVersion: CONTRACT_VERSION,
      jobName: loaded.name,
      graph: loaded.graph,
      parallelism,
      maxParallelism: args.maxParallelism ?? loaded.maxParallelism ?? defaultMaxParallelism(parallelism),
      checkpointing: {
        intervalMs: cp.intervalMs ?? DEFAULT_SUPERVISED_INTERVAL_MS,
        timeoutMs: cp.timeoutMs,
        retained: cp.retained,
        ...(cp.tolerableFailedCheckpoints !== undefined
          ? { tolerableFailedCheckpoints: cp.tolerableFailedCheckpoints }
          : {}),
        ...(cp.incremental === false ? { incremental: false } : {}),
      },
      stateDir: normalizeLocation(cp.stateDir),
      allowNonRestoredState: args.allowNonRestoredState || loaded.restore?.allowNonRestoredState === true,
      // One directory for every slot and attempt: each store makes its own subdirectory under it.
      ...(stateBackend ? { stateBackend } : {}),
    },
    ...(restore !== undefined ? { restoreFrom: normalizeLocation(restore) } : {}),
    // Firing every open window and the final checkpoint can take longer than a plain stop.
    ...(args.drain ? { stopGraceMs: 60_000 } : {}),
    ...(args.controlPort ? { slot0ControlPort: args.controlPort } : {}),
    maxRestarts: args.maxRestarts,
    env: {
      ...(args.logLevel ? { TRIBUTARY_LOG_LEVEL: args.logLevel } : {}),
      // Every slot drains on the stop (Ctrl-C, --duration) the supervisor sends it.
      // Set either way: a value in the user's environment must not decide it.
      [LocalEnv.drainOnStop]: args.drain ? '1' : '0',
      // After a stop-with-savepoint slot 0 keeps its control API up so the caller can read the
      // outcome; a pod until the operator deletes it, a local run this long (seconds).
      TRIBUTARY_STOP_LINGER: process.env['TRIBUTARY_STOP_LINGER'] ?? '10',
    },
  };
}

/** What the run does as the supervisor starts an attempt and as a slot exits. */
function attemptHooks(
  progress: ProgressLine | undefined,
  control: LocalToken | undefined,
  ui: RunUi | undefined,
  logger: Logger,
): Pick<SupervisorOptions, 'onAttempt' | 'onSlotExit'> {
  return {
    onAttempt: (a: AttemptInfo) => {
      if (progress)
        for (const h of a.slots) {
          if (h.child.stdout) forwardLines(h.child.stdout, process.stdout, () => progress.clear());
          if (h.child.stderr) forwardLines(h.child.stderr, process.stderr, () => progress.clear());
        }
      ui?.source.attemptStarted(a.attempt, a.restoreFrom);
      const slot0 = a.slots[0];
      if (control && slot0)
        logger.info(
          { url: `http://${slot0.controlAddress}/v1/status`, tokenFile: control.file },
          'control API of slot 0, the coordinator: status, savepoints (send the token in tokenFile as Authorization: Bearer)',
        );
    },
    ...(ui
      ? {
          onSlotExit: (slot: number, code: number | null, signal: NodeJS.Signals | null) =>
            ui.source.slotExited(slot, code, signal),
        }
      : {}),
  };
}

/** Ctrl-C or SIGTERM stops every slot; a second one kills them. Returns the handler, to remove it. */
function stopOnSignals(sup: Supervisor, progress: ProgressLine | undefined, logger: Logger): () => void {
  let interrupted = 0;
  const onSignal = (): void => {
    interrupted++;
    if (interrupted > 1) {
      for (const s of sup.slots) s.child.kill('SIGKILL');
      process.stderr.write('\nforced exit\n');
      process.exit(130);
    }
    progress?.clear();
    logger.info('stopping all slots (Ctrl-C again to force)');
    sup.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return onSignal;
}

/** Runs the supervised attempts to the end, and logs how the job ended. */
async function superviseToEnd(
  sup: Supervisor,
  progress: ProgressLine | undefined,
  loaded: LoadedJob,
  logger: Logger,
): Promise<void> {
  const poller = new SlotStatusPoller(() => sup.slots);
  if (progress) poller.start((s) => progress.render(s));
  const r = await sup.run().finally(() => {
    poller.stop();
    progress?.stop();
  });
  // Thread slots post their counts when they end (a slot process only logs them): the last attempt's, summed.
  const results = sup.slots.map((h) => (h.child instanceof ThreadSlot ? h.child.result : undefined));
  const counts = results.every((x) => x !== undefined)
    ? {
        recordsIn: results.reduce((n, x) => n + x.recordsIn, 0),
        recordsOut: results.reduce((n, x) => n + x.recordsOut, 0),
      }
    : {};
  // Slots that all exited 0 after a stop-with-savepoint (through slot 0's control API) stopped, not finished.
  const state = r.state === 'FINISHED' && results.some((x) => x?.state === 'STOPPED') ? 'STOPPED' : r.state;
  logger.info({ job: loaded.name, ...r, state, ...counts }, state === 'FINISHED' ? 'job finished' : 'job stopped');
}
