// `tributary run <job.yaml>` (and validate, help): runs a StreamJob manifest (or a bare graph)
// locally, exactly the graph that `kubectl apply` would run. Exit codes: 0 done, 1 job failed,
// 2 bad usage, invalid graph or invalid job options. Started by the entrypoint cli/main.ts.
import { ConsoleSink } from '../connectors/console/console-sink.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { isTributaryError } from '../errors.ts';
import { jobSavepointControl, jobStatusSource } from '../control/job-executor-control.ts';
import { startControlServer, type ControlServer } from '../control/server.ts';
import { createJobExecutor } from '../exec/job-executor.ts';
import { loadJobFile } from '../graph/load.ts';
import { describePlan } from '../graph/plan.ts';
import { createLogger } from '../telemetry/logger.ts';
import { routeProcessWarnings } from '../telemetry/process-warnings.ts';
import { JobMetrics } from '../telemetry/metrics.ts';
import { localControlToken } from '../control/local-token.ts';
import { startMetricsServer, type MetricsServer } from '../telemetry/metrics-server.ts';
import { parseArgs, USAGE } from './args.ts';
import { runDistributed } from './distributed.ts';
import { checkRunDelivery, runCheckpointing, type RunCheckpointing } from './run-checkpointing.ts';
import { ProgressLine } from './progress.ts';

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const logger = createLogger(args.logLevel);
  routeProcessWarnings(logger);
  const loaded = loadJobFile(args.file as string, args.sets);
  const graph = validateGraph(loaded.graph, loaded.graphPath);
  const checkpointing = runCheckpointing(args, loaded);
  checkRunDelivery(graph, loaded, checkpointing);
  if (args.command === 'validate') {
    process.stdout.write(`${args.file}: valid (${graph.nodes.size} nodes)\n`);
    return 0;
  }
  if (args.distributed || args.threads)
    return runDistributed(args, loaded, graph, checkpointing as RunCheckpointing, logger);
  const metrics = new JobMetrics({ defaultMetrics: true });
  const job = await createJobExecutor(graph, {
    parallelism: args.parallelism ?? loaded.replicas ?? 1,
    maxParallelism: args.maxParallelism ?? loaded.maxParallelism,
    logger,
    metrics,
    jobName: loaded.name,
    ...(checkpointing ? { checkpointing } : {}),
    restoreFrom: args.restore ?? loaded.restore?.savepointPath,
    allowNonRestoredState: args.allowNonRestoredState || loaded.restore?.allowNonRestoredState === true,
  });
  let control: ControlServer | undefined;
  if (args.controlPort !== undefined) {
    const savepoints = jobSavepointControl(job);
    const local = localControlToken();
    control = await startControlServer({
      token: local.token,
      host: '127.0.0.1',
      port: args.controlPort,
      source: jobStatusSource(job, { jobName: loaded.name, deploymentId: 'local', slot: 0 }),
      registry: metrics.registry,
      ...(savepoints ? { savepoints } : {}),
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
  const progress = process.stderr.isTTY && args.progress !== false ? new ProgressLine(process.stderr) : undefined;
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
    return 0;
  } finally {
    if (timer) clearTimeout(timer);
    progress?.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await server?.close();
    await control?.close();
    logger.flush();
  }
}

/** Runs the command `argv` names and sets the process's exit code; never rejects. */
export function runCli(argv: string[]): Promise<void> {
  return main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      if (isTributaryError(e)) {
        process.stderr.write(`error ${e.code}: ${e.message}\n`);
        if (e.cause instanceof Error && !e.message.includes(e.cause.message))
          process.stderr.write(`  cause: ${e.cause.message}\n`);
        process.exitCode =
          e.code === 'TRIB_GRAPH_INVALID' ||
          e.code === 'TRIB_GRAPH_LOAD' ||
          e.code === 'TRIB_CLI_USAGE' ||
          e.code === 'TRIB_JOB_CONFIG'
            ? 2
            : 1;
      } else {
        process.stderr.write(`error: ${(e as Error).stack ?? String(e)}\n`);
        process.exitCode = 1;
      }
    },
  );
}
