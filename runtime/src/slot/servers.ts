// The servers of a slot process (slot-main.ts): the control API, up before the restore
// (restore-phase.ts: GET /v1/status says RESTORING and names a state storage that does not
// answer; not ready, and no savepoints, until the slot runs), then, once the slot is built,
// its data-plane listener and the metrics server.
import { getCompileCacheDir } from 'node:module';
import { CheckpointStorage } from '../checkpoint/checkpoint-storage.ts';
import { childOf } from '../checkpoint/storage/state-uri.ts';
import type { SavepointStatus, StatusResponse } from '../control/contract.ts';
import { listSavepointFolders } from '../control/savepoint-folders.ts';
import { startControlServer, type ControlServer, type SavepointControl } from '../control/server.ts';
import { TributaryError } from '../errors.ts';
import type { SlotProcess } from '../process/slot-process.ts';
import { startMetricsServer, type MetricsServer } from '../telemetry/metrics-server.ts';
import type { SlotConfiguration } from './configuration.ts';
import type { SlotRescaleHost } from './rescale-host.ts';
import type { SlotHandle } from './slot-handle.ts';
import type { SlotStorage } from './storage.ts';

export function startSlotControl(
  config: SlotConfiguration,
  storage: SlotStorage,
  { migrations }: SlotRescaleHost,
  handle: SlotHandle,
): Promise<ControlServer> {
  const { env, metrics, controlToken, logger } = config;
  const { reported, phase } = storage;
  const reportStatus = (st: StatusResponse): StatusResponse => ({
    ...st,
    ...(st.lastCheckpoint
      ? { lastCheckpoint: { ...st.lastCheckpoint, path: reported(st.lastCheckpoint.path) as string } }
      : {}),
    ...(st.recentCheckpoints
      ? { recentCheckpoints: st.recentCheckpoints.map((c) => ({ ...c, path: reported(c.path) as string })) }
      : {}),
    ...(handle.restoredFrom !== undefined ? { restoredFrom: handle.restoredFrom } : {}),
  });
  const statusNow = (): StatusResponse => {
    const own = handle.built && reportStatus(handle.built.status());
    const migration = migrations?.current();
    const st = own && phase.ended ? own : phase.status(own);
    return migration ? { ...st, migration } : st;
  };
  return startControlServer({
    host: env.podIp,
    port: env.controlPort,
    registry: metrics.registry,
    token: controlToken,
    logger,
    source: {
      status: statusNow,
      ready: () => handle.built?.jobState === 'RUNNING' || handle.built?.jobState === 'FINISHED',
    },
    // Slot 0 hosts the coordinator; the job exists once the peers are linked.
    savepoints: env.slot === 0 ? savepointControl(config, storage, handle, statusNow) : undefined,
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
}

function savepointControl(
  { cfg }: SlotConfiguration,
  { stateHost, reported }: SlotStorage,
  handle: SlotHandle,
  statusNow: () => StatusResponse,
): SavepointControl {
  const reportSavepoint = (sp: SavepointStatus | undefined): SavepointStatus | undefined =>
    sp?.path === undefined ? sp : { ...sp, path: reported(sp.path) as string };
  return {
    request: (req) => {
      const job = handle.built?.executor;
      if (!job)
        throw new TributaryError(
          'TRIB_CHECKPOINT_FAILED',
          `slot 0 is ${statusNow().state}: savepoints are possible once every slot is linked and running`,
        );
      if (req.stop) {
        handle.stopRequested = true;
        handle.stoppedBy = job;
      }
      return job.requestSavepoint(req);
    },
    get: (id) => reportSavepoint((handle.built?.executor ?? handle.stoppedBy)?.coordinator?.savepointStatus(id)),
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
  };
}

/** The slot's data-plane listener (a slot thread has none: it links over ports) and the metrics server. */
export async function openSlotPorts(
  { env, logger, metrics, threadPorts }: SlotConfiguration,
  slot: SlotProcess,
  control: ControlServer,
): Promise<MetricsServer> {
  if (!threadPorts) await slot.listen();
  // Prometheus scrapes this port without a token; the chart's NetworkPolicy admits only it.
  const metricsServer = await startMetricsServer(metrics.registry, env.metricsPort, env.podIp);
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
  return metricsServer;
}
