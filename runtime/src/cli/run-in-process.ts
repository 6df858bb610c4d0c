// `tributary run` in this process: every slot on its one event loop, with the progress line,
// --drain, one control API (--control-port) and job-wide metrics (--metrics-port).
import type { Logger } from 'pino';
import { ConsoleSink } from '../connectors/console/console-sink.ts';
import { jobSavepointControl, jobStatusSource } from '../job/job-executor-control.ts';
import { localControlToken } from '../control/local-token.ts';
import { MigrationTracker } from '../control/migration-tracker.ts';
import { startControlServer, type ControlServer, type StatusSource } from '../control/server.ts';
import type { CreateJobExecutorOptions } from '../exec/job-options.ts';
import { createJobExecutor } from '../job/job-executor.ts';
import type { LoadedJob } from '../graph/load.ts';
import { describePlan } from '../graph/plan.ts';
import type { ValidatedGraph } from '../graph/validated-graph.ts';
import { rescaleBudgetBytes } from '../process/slot-env.ts';
import type { StateBackendOptions } from '../state/state-backend-options.ts';
import { JobMetrics } from '../telemetry/metrics.ts';
import { startMetricsServer, type MetricsServer } from '../telemetry/metrics-server.ts';
import type { RunArgs } from './args.ts';
import { ProgressLine } from './progress.ts';
import { startRunUi, type RunUi } from './run-ui.ts';
import type { RunCheckpointing } from './run-checkpointing.ts';
import { droppedSummary } from '../exec/dropped-records.ts';

export async function runInProcess(
  args: RunArgs,
  loaded: LoadedJob,
  graph: ValidatedGraph,
  checkpointing: RunCheckpointing | undefined,
  logger: Logger,
  stateBackend?: StateBackendOptions,
): Promise<number> {
  const parallelism = args.parallelism ?? loaded.replicas ?? 1;
  // TRIBUTARY_RESCALE_BUDGET_BYTES: the per-step state budget of every live rescale of this run (the API has no
  // field for it); unset, rescale/rescale-local.ts's default. A tiny one makes many steps (tests kill mid-step).
  const budgetBytes = rescaleBudgetBytes(process.env['TRIBUTARY_RESCALE_BUDGET_BYTES']);
  // Before the job exists: a dashboard that cannot start fails the run while nothing else runs.
  // All slots answer as one (the control API's status of this process), slot 0.
  const holder: { status?: StatusSource } = {};
  const ui: RunUi | undefined =
    args.ui === undefined
      ? undefined
      : await startRunUi({
          address: args.ui,
          jobName: loaded.name,
          graph,
          parallelism,
          logger,
          read: () => Promise.resolve(holder.status ? [holder.status.status()] : []),
        });
  ui?.source.attemptStarted(1, args.restore ?? loaded.restore?.savepointPath);
  const metrics = new JobMetrics({ defaultMetrics: true });
  const job = await createJobExecutor(graph, {
    parallelism,
    logger,
    metrics,
    ...executorOptions(args, loaded, checkpointing, stateBackend),
  }).catch(async (e: unknown) => {
    await ui?.close();
    throw e;
  });
  // Live rescales (POST /v1/migrations): the job refuses what it cannot do (no checkpoints, index sources).
  const migrations = new MigrationTracker({ rescale: (to, o) => job.rescale(to, { ...o, budgetBytes }) });
  const info = { jobName: loaded.name, deploymentId: 'local', slot: 0, migrations };
  holder.status = jobStatusSource(job, info);
  let control: ControlServer | undefined;
  if (args.controlPort !== undefined) {
    const savepoints = jobSavepointControl(job);
    const local = localControlToken();
    control = await startControlServer({
      token: local.token,
      host: '127.0.0.1',
      port: args.controlPort,
      source: jobStatusSource(job, info),
      registry: metrics.registry,
      ...(savepoints ? { savepoints } : {}),
      migrations,
      logger,
    });
    logger.info(
      { url: `http://127.0.0.1:${control.port}/v1/status`, tokenFile: local.file },
      'control API (send the token in tokenFile as Authorization: Bearer)',
    );
  }
  if (args.explain) for (const line of describePlan(job.plan)) process.stderr.write(`${line}\n`);
  let server: MetricsServer | undefined;
  if (args.metricsPort !== undefined) {
    server = await startMetricsServer(metrics.registry, args.metricsPort);
    logger.info({ url: `http://127.0.0.1:${server.port}/metrics` }, 'metrics endpoint');
  }
  const progress = ProgressLine.onTerminal(args.progress);
  if (progress) {
    ConsoleSink.beforeWrite = () => progress.clear();
    progress.start(() => job.status());
  }
  let interrupted = 0;
  const onSigint = (): void => {
    interrupted++;
    if (interrupted > 1) {
      process.stderr.write('\nforced exit\n');
      process.exit(130);
    }
    progress?.clear();
    logger.info('stopping (Ctrl-C again to force)');
    job.stop({ drain: args.drain });
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const timer =
    args.durationMs !== undefined ? setTimeout(() => job.stop({ drain: args.drain }), args.durationMs) : undefined;
  try {
    const result = await job.run();
    progress?.stop();
    logger.info({ ...result, job: loaded.name }, result.state === 'FINISHED' ? 'job finished' : 'job stopped');
    if (result.recordsDropped)
      logger.warn({ recordsDropped: result.recordsDropped }, droppedSummary(result.recordsDropped));
    return 0;
  } finally {
    if (timer) clearTimeout(timer);
    progress?.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await server?.close();
    await control?.close();
    await ui?.close();
    logger.flush();
  }
}

/** The executor's options this run takes from its flags and the manifest. */
function executorOptions(
  args: RunArgs,
  loaded: LoadedJob,
  checkpointing: RunCheckpointing | undefined,
  stateBackend: StateBackendOptions | undefined,
): Omit<CreateJobExecutorOptions, 'parallelism'> {
  return {
    maxParallelism: args.maxParallelism ?? loaded.maxParallelism,
    jobName: loaded.name,
    ...(checkpointing ? { checkpointing } : {}),
    ...(stateBackend ? { stateBackend } : {}),
    ...(args.offsetCommitIntervalMs !== undefined ? { offsetCommitIntervalMs: args.offsetCommitIntervalMs } : {}),
    restoreFrom: args.restore ?? loaded.restore?.savepointPath,
    allowNonRestoredState: args.allowNonRestoredState || loaded.restore?.allowNonRestoredState === true,
  };
}
