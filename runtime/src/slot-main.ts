// The slot process itself (loaded by main.ts, the entrypoint, once the compile cache is on).
import { mkdirSync, writeFileSync } from 'node:fs';
import { getCompileCacheDir } from 'node:module';
import { dirname } from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { CheckpointStorage } from './checkpoint/checkpoint-storage.ts';
import { childOf } from './checkpoint/storage/state-uri.ts';
import { validateGraph } from './connectors/validate-graph.ts';
import { isTributaryError } from './errors.ts';
import { loadJobModule } from './application/job-module.ts';
import { kubernetesDiscovery, lazyPodLister, staticDiscovery, type Discover } from './process/peer-discovery.ts';
import { DEFAULT_JOIN_WAIT_MS, PodLinks } from './process/rescale-pod-links.ts';
import { containerPath, joiningJobConfig, LocalEnv, readJobConfig, readSlotEnv } from './process/slot-env.ts';
import { SlotProcess } from './process/slot-process.ts';
import { THREAD_STOP_MESSAGE, threadPortsOf, type SlotResultMessage } from './process/thread-slot.ts';
import { slotHostOfThisSlot } from './process/slot-host.ts';
import { hostedJob, hostedRescalable } from './process/rescale-driver.ts';
import { MigrationTracker } from './control/migration-tracker.ts';
import { rescaleBudgetBytes } from './process/slot-env.ts';
import { readTokenFile, startControlServer, type ControlServer } from './control/server.ts';
import { startMetricsServer, type MetricsServer } from './telemetry/metrics-server.ts';
import { resolveLatestRestoreWithin } from './control/restore-latest.ts';
import { RestorePhase } from './control/restore-phase.ts';
import { reportingStateReadOutages } from './checkpoint/storage/read-outages.ts';
import { listSavepointFolders } from './control/savepoint-folders.ts';
import { TributaryError } from './errors.ts';
import { createLogger } from './telemetry/logger.ts';
import { routeProcessWarnings } from './telemetry/process-warnings.ts';
import { JobMetrics } from './telemetry/metrics.ts';
import type { GraphSpec } from './graph/spec.ts';
import type { JobExecutor } from './job/job-executor.ts';
import { DATA_PORT, RuntimeEnv, type SavepointStatus, type StatusResponse } from './control/contract.ts';
import { finishedMessage } from './control/finished.ts';

const TERMINATION_LOG = '/dev/termination-log';

const CONFIG_CODES = new Set([
  'TRIB_PEER_CONFIG',
  'TRIB_GRAPH_INVALID',
  'TRIB_GRAPH_LOAD',
  'TRIB_CLI_USAGE',
  'TRIB_JOB_CONFIG',
  'TRIB_CONNECTOR_UNSUPPORTED',
  'TRIB_EXPR_INVALID',
  'TRIB_JOB_MODULE',
  'TRIB_FUNCTION_MISSING',
]);

/**
 * The reason a slot ends with an error, in the container's termination message file (Kubernetes' default
 * /dev/termination-log, writable even on a read-only root): the operator reports it in status (Degraded, lastError),
 * so e.g. a refused S3 key or a missing bucket is named there, not only in the pod's log. Best effort.
 */
function writeTerminationMessage(text: string): void {
  // Only in a pod (the downward API names it): `tributary run --distributed` must not write the host's /dev.
  if (!process.env[RuntimeEnv.podName]) return;
  try {
    const file = containerPath(TERMINATION_LOG, process.env[LocalEnv.podRoot] || undefined);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text.slice(0, 4000));
  } catch {
    // no writable termination log (e.g. `tributary run`): stderr has it
  }
}

/** Under `tributary run --distributed`: exit when the supervisor is gone (no orphaned slots). */
function watchParent(): void {
  const parent = Number(process.env['TRIBUTARY_PARENT_PID']);
  if (!(parent > 0)) return;
  setInterval(() => {
    if (process.ppid !== parent) {
      process.stderr.write(`supervisor ${parent} is gone; slot exiting\n`);
      process.exit(1);
    }
  }, 500).unref();
}

async function main(): Promise<number> {
  watchParent();
  const env = readSlotEnv(process.env);
  const logger = createLogger().child({ slot: env.slot, deployment: env.deploymentId });
  routeProcessWarnings(logger);
  const joining = joiningJobConfig(readJobConfig(env.jobConfigFile, env), env);
  const cfg = joining.cfg;
  if (joining.ignored.length > 0)
    logger.info(
      { ignored: joining.ignored, generation: env.joinGeneration },
      "a joining slot restores nothing: its state arrives by the rescale's steps",
    );
  // Application mode: the module's execute() gives the graph and the functions it names. The
  // path is the image's (in the local cluster's process mode: the host's, see docs).
  const job = cfg.module
    ? await loadJobModule(cfg.module, (err) => {
        logger.error({ err, module: cfg.module }, 'job module failed after submitting its job');
        writeTerminationMessage(`error ${err.code ?? ''}: ${err.message}`);
        process.exit(2);
      })
    : undefined;
  const graph = validateGraph((job?.graph ?? cfg.graph) as GraphSpec, 'graph');
  if (job) logger.info({ module: cfg.module }, 'job module loaded');
  // The job's secret, read now so that a missing or empty one fails the start: the control API
  // requires it as bearer token and the data-plane handshake proves it.
  const controlToken = readTokenFile(env.controlTokenFile);
  const metrics = new JobMetrics({ defaultMetrics: true, processWide: isMainThread });

  const peerTimeoutS = Number(process.env['TRIBUTARY_PEER_TIMEOUT']);
  const peerTimeoutMs = peerTimeoutS > 0 ? peerTimeoutS * 1000 : undefined;
  let discover: Discover;
  if (env.parallelism === 1) discover = staticDiscovery([]);
  else if (env.peers) discover = staticDiscovery(env.peers);
  else
    discover = await kubernetesDiscovery({
      selector: env.peerSelector as string,
      namespace: env.namespace,
      port: env.dataPort === 0 ? DATA_PORT : env.dataPort,
      podRoot: env.podRoot,
    });

  // A slot thread links with its peers over the ports its supervisor gave it, not over TCP.
  const threadPorts = threadPortsOf(workerData);
  const stateHost = containerPath(cfg.stateDir, env.podRoot);
  const fallback = cfg.restoreFrom ? containerPath(cfg.restoreFrom, env.podRoot) : undefined;
  // Paths in the control API are in-container paths (/state/savepoints/sp-3): what a new
  // deployment's pods can open. Under the node agent the process sees them below its own pod
  // root, which goes away with the pod, so the pod-root prefix is removed before reporting.
  const reported = (p: string | undefined): string | undefined =>
    p !== undefined && env.podRoot && stateHost !== cfg.stateDir && (p === stateHost || p.startsWith(`${stateHost}/`))
      ? cfg.stateDir.replace(/\/$/, '') + p.slice(stateHost.length)
      : p;
  let restoredFrom: string | undefined;
  const reportStatus = (st: StatusResponse): StatusResponse => ({
    ...st,
    ...(st.lastCheckpoint
      ? { lastCheckpoint: { ...st.lastCheckpoint, path: reported(st.lastCheckpoint.path) as string } }
      : {}),
    ...(st.recentCheckpoints
      ? { recentCheckpoints: st.recentCheckpoints.map((c) => ({ ...c, path: reported(c.path) as string })) }
      : {}),
    ...(restoredFrom !== undefined ? { restoredFrom } : {}),
  });
  const reportSavepoint = (sp: SavepointStatus | undefined): SavepointStatus | undefined =>
    sp?.path === undefined ? sp : { ...sp, path: reported(sp.path) as string };
  // The slot, once built; until it leaves CREATED the control API answers for its restore phase.
  let built: SlotProcess | undefined;
  const phase = new RestorePhase(
    { jobName: cfg.jobName, deploymentId: env.deploymentId, slot: env.slot, parallelism: env.parallelism },
    cfg.restoreLatest !== undefined || fallback !== undefined,
    () => built !== undefined && built.jobState !== 'CREATED',
  );
  // A local run's slot 0 rescales live with its host's help (rescale-driver.ts); a pod's slot 0 is its own
  // host (rescale-pod-links.ts: the operator creates the joining pod), and every running slot pod links with
  // joining ones.
  const host = slotHostOfThisSlot();
  const podLinks =
    !host && env.podName && env.peerSelector && !env.peers
      ? new PodLinks({
          slot: env.slot,
          list: lazyPodLister({ namespace: env.namespace, podRoot: env.podRoot }),
          selector: env.peerSelector,
          port: env.dataPort === 0 ? DATA_PORT : env.dataPort,
          timeoutMs: peerTimeoutMs ?? DEFAULT_JOIN_WAIT_MS,
          logger,
        })
      : undefined;
  const rescaleHost = host ?? podLinks?.host;
  const budgetEnv = process.env['TRIBUTARY_RESCALE_BUDGET_BYTES'];
  const migrations =
    rescaleHost && env.slot === 0
      ? new MigrationTracker(
          hostedRescalable(rescaleHost, () => built && hostedJob(built, graph), rescaleBudgetBytes(budgetEnv)),
        )
      : undefined;
  const statusNow = (): StatusResponse => {
    const own = built && reportStatus(built.status());
    const migration = migrations?.current();
    const st = own && phase.ended ? own : phase.status(own);
    return migration ? { ...st, migration } : st;
  };
  let control: ControlServer | undefined;
  let metricsServer: MetricsServer | undefined;
  // Slot 0 after a stop-with-savepoint: the job that took it (its coordinator keeps the result).
  let stoppedBy: JobExecutor | undefined;
  let stopRequested = false;
  let signals = 0;
  let wakeLinger: (() => void) | undefined;

  try {
    // Up before the restore (restore-phase.ts): GET /v1/status says RESTORING and names a state
    // storage that does not answer; not ready, and no savepoints, until the slot runs.
    control = await startControlServer({
      host: env.podIp,
      port: env.controlPort,
      registry: metrics.registry,
      token: controlToken,
      logger,
      source: {
        status: statusNow,
        ready: () => built?.jobState === 'RUNNING' || built?.jobState === 'FINISHED',
      },
      // Slot 0 hosts the coordinator; the job exists once the peers are linked.
      savepoints:
        env.slot === 0
          ? {
              request: (req) => {
                const job = built?.executor;
                if (!job)
                  throw new TributaryError(
                    'TRIB_CHECKPOINT_FAILED',
                    `slot 0 is ${statusNow().state}: savepoints are possible once every slot is linked and running`,
                  );
                if (req.stop) {
                  stopRequested = true;
                  stoppedBy = job;
                }
                return job.requestSavepoint(req);
              },
              get: (id) => reportSavepoint((built?.executor ?? stoppedBy)?.coordinator?.savepointStatus(id)),
              // The folder name is validated by the server (sp-<n>): nothing outside savepoints/.
              dispose: async (folder) => {
                if (cfg.retention === 'Retain')
                  throw new TributaryError(
                    'TRIB_STATE_RETAINED',
                    `savepoint ${folder} not deleted: the job's state retention is Retain (nothing under ${cfg.stateDir} is deleted)`,
                  );
                await CheckpointStorage.discard(childOf(stateHost, 'savepoints', folder));
              },
              list: () => listSavepointFolders(stateHost),
            }
          : undefined,
      ...(env.slot === 0
        ? {
            migrations: migrations ?? {
              unsupported:
                'live rescale needs a host: a local supervisor (`tributary run`) or slot pods ' +
                '(TRIBUTARY_POD_NAME and TRIBUTARY_PEER_SELECTOR set)',
            },
          }
        : {}),
    });
    const restore = cfg.restoreLatest
      ? // Bounded like the local supervisor's restart lookup: by the checkpoint timeout.
        await resolveLatestRestoreWithin(stateHost, cfg.restoreLatest, fallback, {
          timeoutMs: cfg.checkpointing.timeoutMs,
          logger,
          report: phase.reporter('restore-latest'),
          ...(cfg.deployment ? { deployment: cfg.deployment } : {}),
        })
      : { path: fallback, source: 'configured' as const };
    phase.restores = restore.path !== undefined;
    restoredFrom = reported(restore.path);
    logger.info(
      {
        restoreFrom: restore.path ?? null,
        source: restore.source,
        ...(cfg.restoreLatest ? { since: cfg.restoreLatest.since } : {}),
      },
      restore.path ? 'restoring' : 'starting with empty state',
    );

    const slot = new SlotProcess({
      jobName: cfg.jobName,
      // Kafka ids of a job never meet another namespace's (connectors/kafka/id-scope.ts).
      ...(env.namespace ? { kafkaIdScope: env.namespace } : {}),
      graph,
      ...(job ? { job: { functions: job.functions } } : {}),
      slot: env.slot,
      parallelism: env.parallelism,
      maxParallelism: env.maxParallelism ?? cfg.maxParallelism,
      deploymentId: env.deploymentId,
      secret: controlToken,
      host: env.podIp,
      dataPort: env.dataPort,
      discover,
      ...(threadPorts ? { threadPorts } : {}),
      logger,
      metrics,
      ...(peerTimeoutMs !== undefined ? { connectTimeoutMs: peerTimeoutMs } : {}),
      checkpointing: {
        stateDir: stateHost,
        intervalMs: cfg.checkpointing.intervalMs,
        timeoutMs: cfg.checkpointing.timeoutMs,
        retained: cfg.checkpointing.retained,
        ...(cfg.checkpointing.tolerableFailedCheckpoints !== undefined
          ? { tolerableFailedCheckpoints: cfg.checkpointing.tolerableFailedCheckpoints }
          : {}),
        ...(cfg.retention === 'Retain' ? { keepAll: true } : {}),
        ...(cfg.deployment ? { deployment: cfg.deployment } : {}),
      },
      ...(restore.path ? { restoreFrom: restore.path, allowNonRestoredState: cfg.allowNonRestoredState } : {}),
      ...(env.joinGeneration !== undefined ? { join: { generation: env.joinGeneration } } : {}),
    });
    built = slot;
    podLinks?.attach(slot);
    // A local supervisor (--threads, --distributed) has running slots link with the slots a live rescale starts.
    host?.handleLinks(async (generation, parallelism, peers) => {
      slot.prepareJoin(generation, parallelism);
      await Promise.all(
        peers.map((p) => (p.ports ? slot.addPeerPorts(p.slot, p.ports) : slot.addPeer(p.slot, p.address as string))),
      );
    });
    if (!threadPorts) await slot.listen();
    // Prometheus scrapes this port without a token; the chart's NetworkPolicy admits only it.
    metricsServer = await startMetricsServer(metrics.registry, env.metricsPort, env.podIp);
    logger.info(
      {
        data: threadPorts ? 'thread ports' : slot.address,
        control: `${env.podIp}:${control.port}`,
        metrics: `${env.podIp}:${metricsServer.port}`,
        parallelism: env.parallelism,
        // Where this process's compiled code came from (main.ts): the image's warmed folder, the pod's /tmp, or off.
        compileCache: getCompileCacheDir() ?? 'off',
      },
      'slot listening',
    );

    const onSignal = (sig: string): void => {
      signals++;
      wakeLinger?.();
      if (signals > 1) {
        logger.warn({ sig }, 'second signal: exiting now');
        logger.flush();
        process.exit(1);
      }
      logger.info({ sig }, 'stopping');
      slot.stop({ drain: env.drainOnStop });
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));
    // A thread slot (`tributary run --threads`) gets no signals: its supervisor's stop message
    // stands for SIGTERM. Unref'd: the port must not keep a finished slot's thread alive.
    if (parentPort) {
      parentPort.on('message', (m) => {
        if (m === THREAD_STOP_MESSAGE) onSignal('stop');
      });
      parentPort.unref();
    }

    // The restore's state reads report their stalls to the restore phase (read-outages.ts).
    // A joining slot links with the running ones first and says so to its host (which waits for it).
    if (env.joinGeneration !== undefined)
      await slot.link().then(
        () => host?.linked(),
        (e: unknown) => {
          host?.linked(e);
          throw e;
        },
      );
    const result = await reportingStateReadOutages(phase.readReporters(), () => slot.run());
    logger.info(
      { ...result, ...(slot.left ? { left: true } : {}) },
      slot.left ? 'slot left the job (live scale in)' : result.state === 'FINISHED' ? 'slot finished' : 'slot stopped',
    );
    // End of input, final checkpoint and commits done, or left in a scale in (control/finished.ts): the
    // operator's only way to tell this exit 0 from a stop's.
    if (result.state === 'FINISHED') {
      const cp = slot.executor?.status().lastCheckpoint;
      writeTerminationMessage(
        finishedMessage({
          slot: env.slot,
          deploymentId: env.deploymentId,
          recordsIn: result.recordsIn,
          recordsOut: result.recordsOut,
          // Left in a live scale in: the job runs on without this slot (not the end of its input).
          ...(slot.left ? { left: true as const } : {}),
          ...(cp
            ? { lastCheckpoint: { id: cp.id, completedAt: cp.completedAt, path: reported(cp.path) as string } }
            : {}),
        }),
      );
    }
    const ended: SlotResultMessage = {
      kind: 'tributary:slot-result',
      state: result.state,
      recordsIn: result.recordsIn,
      recordsOut: result.recordsOut,
    };
    parentPort?.postMessage(ended);
    // Slot 0 stopped by a stop-with-savepoint (not by a signal): the caller (the operator)
    // still has to read the savepoint's outcome, so the control API stays up until SIGTERM
    // (the operator deletes the pods once it has recorded the savepoint) or the linger time
    // (TRIBUTARY_STOP_LINGER seconds, default 120) runs out.
    if (env.slot === 0 && stopRequested && signals === 0 && result.state === 'STOPPED') {
      const lingerS = Number(process.env['TRIBUTARY_STOP_LINGER'] ?? 120);
      logger.info({ lingerSeconds: lingerS }, 'stopped with a savepoint: control API kept up until SIGTERM');
      await new Promise<void>((resolve) => {
        wakeLinger = resolve;
        setTimeout(resolve, lingerS * 1000).unref();
      });
    }
    return 0;
  } finally {
    await control?.close();
    await metricsServer?.close();
    logger.flush();
  }
}

/** Runs this process as one slot and exits with its code (see main.ts); importing this file does not. */
export function runSlotProcess(): void {
  main().then(
    (code) => {
      process.exitCode = code;
      // Connector clients (kafkajs) may keep timers alive; the slot is done.
      setTimeout(() => process.exit(code), 200).unref();
    },
    (e: unknown) => {
      const code = isTributaryError(e) && CONFIG_CODES.has(e.code) ? 2 : 1;
      let text: string;
      if (isTributaryError(e)) {
        text = `error ${e.code}: ${e.message}\n`;
        if (e.cause instanceof Error && !e.message.includes(e.cause.message)) text += `  cause: ${e.cause.message}\n`;
      } else text = `error: ${(e as Error).stack ?? String(e)}\n`;
      process.stderr.write(text);
      writeTerminationMessage(text);
      process.exitCode = code;
      setTimeout(() => process.exit(code), 200).unref();
    },
  );
}
