// The last stages of a slot process's start (slot-main.ts): the slot built from its
// configuration and its restore, then run (a joining slot links with the running ones first),
// stopped by a signal or a thread's stop message, and its end reported.
import { parentPort } from 'node:worker_threads';
import { reportingStateReadOutages } from '../checkpoint/storage/read-outages.ts';
import type { JobConfig } from '../control/contract.ts';
import { finishedMessage } from '../control/finished.ts';
import type { ResolvedRestore } from '../control/restore-latest.ts';
import { containerPath } from '../process/slot-env.ts';
import { SlotProcess } from '../process/slot-process.ts';
import { THREAD_STOP_MESSAGE, type SlotResultMessage } from '../process/thread-slot.ts';
import type { StateBackendOptions } from '../state/state-backend-options.ts';
import type { SlotConfiguration } from './configuration.ts';
import type { SlotRescaleHost } from './rescale-host.ts';
import type { SlotHandle } from './slot-handle.ts';
import type { SlotStorage } from './storage.ts';
import { writeTerminationMessage } from './termination-message.ts';

type SlotResult = Awaited<ReturnType<SlotProcess['run']>>;

export function buildSlot(
  { env, cfg, job, graph, controlToken, discover, threadPorts, logger, metrics, peerTimeoutMs }: SlotConfiguration,
  { stateHost }: SlotStorage,
  restore: Pick<ResolvedRestore, 'path'>,
): SlotProcess {
  return new SlotProcess({
    jobName: cfg.jobName,
    // Kafka ids of a job never meet another namespace's (connectors/kafka/id-scope.ts).
    ...(env.namespace ? { kafkaIdScope: env.namespace } : {}),
    graph,
    ...(job || cfg.stateBackend
      ? {
          job: {
            ...(job ? { functions: job.functions } : {}),
            ...(cfg.stateBackend ? { stateBackend: slotStateBackend(cfg.stateBackend, env.podRoot) } : {}),
          },
        }
      : {}),
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
      ...(cfg.checkpointing.incremental === false ? { incremental: false } : {}),
      ...(cfg.retention === 'Retain' ? { keepAll: true } : {}),
      ...(cfg.deployment ? { deployment: cfg.deployment } : {}),
    },
    ...(restore.path ? { restoreFrom: restore.path, allowNonRestoredState: cfg.allowNonRestoredState } : {}),
    ...(env.joinGeneration !== undefined ? { join: { generation: env.joinGeneration } } : {}),
  });
}

/**
 * The job config's stateBackend as this process sees it: its dir is an in-container path (the pod's
 * local volume), below the pod root under the node agent.
 */
export function slotStateBackend(
  sb: NonNullable<JobConfig['stateBackend']>,
  podRoot: string | undefined,
): StateBackendOptions {
  return {
    kind: sb.kind,
    ...(sb.dir !== undefined ? { dir: containerPath(sb.dir, podRoot) } : {}),
    ...(sb.cacheEntries !== undefined ? { cacheEntries: sb.cacheEntries } : {}),
  };
}

/** Runs the slot to its end (a joining one links first) and reports it; resolves to the exit code. */
export async function runOrJoin(
  config: SlotConfiguration,
  storage: SlotStorage,
  { host }: SlotRescaleHost,
  slot: SlotProcess,
  handle: SlotHandle,
): Promise<number> {
  const { env, logger } = config;
  stopOnSignals(config, slot, handle);
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
  const result = await reportingStateReadOutages(storage.phase.readReporters(), () => slot.run());
  logger.info(
    { ...result, ...(slot.left ? { left: true } : {}) },
    slot.left ? 'slot left the job (live scale in)' : result.state === 'FINISHED' ? 'slot finished' : 'slot stopped',
  );
  reportEnd(config, storage, slot, result);
  // Slot 0 stopped by a stop-with-savepoint (not by a signal): the caller (the operator)
  // still has to read the savepoint's outcome, so the control API stays up until SIGTERM
  // (the operator deletes the pods once it has recorded the savepoint) or the linger time
  // (TRIBUTARY_STOP_LINGER seconds, default 120) runs out.
  if (env.slot === 0 && handle.stopRequested && handle.signals === 0 && result.state === 'STOPPED') {
    const lingerS = Number(process.env['TRIBUTARY_STOP_LINGER'] ?? 120);
    logger.info({ lingerSeconds: lingerS }, 'stopped with a savepoint: control API kept up until SIGTERM');
    await new Promise<void>((resolve) => {
      handle.wakeLinger = resolve;
      setTimeout(resolve, lingerS * 1000).unref();
    });
  }
  return 0;
}

/** SIGTERM and SIGINT stop the slot (drained with TRIBUTARY_DRAIN_ON_STOP); a second one exits at once. */
function stopOnSignals({ env, logger }: SlotConfiguration, slot: SlotProcess, handle: SlotHandle): void {
  const onSignal = (sig: string): void => {
    handle.signals++;
    handle.wakeLinger?.();
    if (handle.signals > 1) {
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
}

/** The slot's end: a finished slot's termination message, and a slot thread's result to its supervisor. */
function reportEnd({ env }: SlotConfiguration, { reported }: SlotStorage, slot: SlotProcess, result: SlotResult): void {
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
}
