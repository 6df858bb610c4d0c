// Entry point of the node agent, started by the cluster CLI as a long-running process:
//   node test/cluster/node-agent/main.ts --kubeconfig <admin kubeconfig> --node-name <name>
//     --pods-dir <dir> --log-dir <dir> --pod-cidr 127.0.1.0/24 [--image-map <json>] ...
// Logs pino JSON to stdout. SIGTERM/SIGINT stop every container (SIGTERM → grace → SIGKILL)
// before the process exits, so no container outlives the agent.
import { pino } from 'pino';
import { NodeAgent } from './agent.ts';
import { parseAgentArgs } from './args.ts';
import type { AgentArgs } from './args.ts';
import { NodeAgentError } from './errors.ts';

const log = pino({ name: 'node-agent', level: process.env.NODE_AGENT_LOG_LEVEL ?? 'info' });

let args: AgentArgs;
try {
  args = parseAgentArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
log.level = args.logLevel;

const agent = new NodeAgent({
  kubeconfig: args.kubeconfig,
  nodeName: args.nodeName,
  podsDir: args.podsDir,
  logDir: args.logDir,
  podCidr: args.podCidr,
  ...(args.imageMap ? { imageMapFile: args.imageMap } : {}),
  ...(args.apiServer ? { apiServer: args.apiServer } : {}),
  ...(args.caFile ? { caFile: args.caFile } : {}),
  backoff: args.backoff,
  shutdownGraceMs: args.shutdownGraceMs,
  ...(args.serviceProxySocket ? { serviceProxySocket: args.serviceProxySocket } : {}),
  pinnedOnly: args.pinnedOnly,
  log,
});

let stopping = false;
async function shutdown(reason: string, code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ reason }, 'shutting down');
  // Hard limit: never hang longer than the grace cap plus a margin.
  setTimeout(() => {
    log.error('shutdown took too long; exiting');
    process.exit(code || 1);
  }, args.shutdownGraceMs + 15_000).unref();
  try {
    await agent.stop();
  } catch (err) {
    log.error({ err }, 'error while stopping');
  }
  process.exit(code);
}

process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
process.on('SIGINT', () => void shutdown('SIGINT', 0));
process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'uncaught exception');
  void shutdown('uncaughtException', 1);
});
process.on('unhandledRejection', (err) => {
  log.error({ err }, 'unhandled rejection');
});

try {
  await agent.start();
  log.info('node agent running');
} catch (err) {
  const code = err instanceof NodeAgentError ? err.code : 'NODE_AGENT_START';
  log.fatal({ err, code }, 'node agent failed to start');
  await shutdown('start failure', 1);
}
