// The first stage of a slot process's start (slot-main.ts): what the slot runs and with whom,
// read from its environment, its job config and the job module, before anything listens. A
// missing or empty job secret fails here: the control API requires it as bearer token and the
// data-plane handshake proves it.
import { isMainThread, workerData } from 'node:worker_threads';
import { loadJobModule, type SubmittedJob } from '../application/job-module.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { DATA_PORT, type JobConfig } from '../control/contract.ts';
import { readTokenFile } from '../control/server.ts';
import type { GraphSpec } from '../graph/spec.ts';
import type { ValidatedGraph } from '../graph/validated-graph.ts';
import type { ThreadPorts } from '../net/port-socket.ts';
import { kubernetesDiscovery, staticDiscovery, type Discover } from '../process/peer-discovery.ts';
import { joiningJobConfig, readJobConfig, readSlotEnv, type SlotEnv } from '../process/slot-env.ts';
import { threadPortsOf } from '../process/thread-slot.ts';
import { createLogger, type Logger } from '../telemetry/logger.ts';
import { JobMetrics } from '../telemetry/metrics.ts';
import { routeProcessWarnings } from '../telemetry/process-warnings.ts';
import { writeTerminationMessage } from './termination-message.ts';

export interface SlotConfiguration {
  env: SlotEnv;
  /** The job config; a joining slot's restores nothing (joiningJobConfig). */
  cfg: JobConfig;
  logger: Logger;
  /** Application mode: what the job module's execute() submitted (the functions the graph names). */
  job: SubmittedJob | undefined;
  graph: ValidatedGraph;
  controlToken: string;
  metrics: JobMetrics;
  /** TRIBUTARY_PEER_TIMEOUT, when set. */
  peerTimeoutMs: number | undefined;
  discover: Discover;
  /** A slot thread links with its peers over the ports its supervisor gave it, not over TCP. */
  threadPorts: ThreadPorts | undefined;
}

export async function configureSlot(): Promise<SlotConfiguration> {
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
  const controlToken = readTokenFile(env.controlTokenFile);
  const metrics = new JobMetrics({ defaultMetrics: true, processWide: isMainThread });
  const peerTimeoutS = Number(process.env['TRIBUTARY_PEER_TIMEOUT']);
  const peerTimeoutMs = peerTimeoutS > 0 ? peerTimeoutS * 1000 : undefined;
  const discover = await peerDiscovery(env);
  const threadPorts = threadPortsOf(workerData);
  return { env, cfg, logger, job, graph, controlToken, metrics, peerTimeoutMs, discover, threadPorts };
}

/** Where the slot finds its peers: none alone, the listed ones locally, else the deployment's pods. */
async function peerDiscovery(env: SlotEnv): Promise<Discover> {
  if (env.parallelism === 1) return staticDiscovery([]);
  if (env.peers) return staticDiscovery(env.peers);
  return kubernetesDiscovery({
    selector: env.peerSelector as string,
    namespace: env.namespace,
    port: env.dataPort === 0 ? DATA_PORT : env.dataPort,
    podRoot: env.podRoot,
  });
}
